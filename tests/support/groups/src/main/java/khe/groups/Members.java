package khe.groups;

import static khe.groups.GroupsApp.adminProps;
import static khe.groups.GroupsApp.require;
import static khe.groups.GroupsApp.say;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code members --kind consumer|classic --group G --topic T --members N --commit-at K
 * [--instance-prefix P]}: N KafkaConsumer threads in one group (group.protocol=consumer is
 * KIP-848, classic the old one); with P, member i is static with group.instance.id P + i.
 * Each member commits offset K (commitSync with explicit offsets) on every partition it is
 * assigned, pauses it (nothing is fetched) and keeps polling for liveness.
 *
 * <p>Lines: {@code assigned member=i partitions=0,1}, {@code revoked member=i partitions=...},
 * {@code committed member=i partition=p offset=K}, {@code group state=S members=n} (the Admin's
 * describe, on every change), {@code ready members=N partitions=P} once the group is Stable with N
 * members and every partition of T has K committed, {@code left member=i} after close().
 */
final class Members {
  private Members() {}

  static int run(Map<String, String> args) throws Exception {
    String bootstrap = require(args, "bootstrap");
    String kind = require(args, "kind");
    if (!kind.equals("consumer") && !kind.equals("classic")) {
      throw new IllegalArgumentException("--kind is consumer or classic, not " + kind);
    }
    String group = require(args, "group");
    String topic = require(args, "topic");
    int count = Integer.parseInt(require(args, "members"));
    long commitAt = Long.parseLong(require(args, "commit-at"));
    String instancePrefix = args.get("instance-prefix");

    AtomicBoolean stop = new AtomicBoolean();
    Set<Integer> committed = ConcurrentHashMap.newKeySet();
    List<Thread> threads = new ArrayList<>();
    try (Admin admin = Admin.create(adminProps(bootstrap))) {
      int partitions =
          admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS)
              .get(topic).partitions().size();
      for (int i = 0; i < count; i++) {
        Member member = new Member(i, bootstrap, kind, group, topic, commitAt, stop, committed);
        if (instancePrefix != null) {
          member.props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instancePrefix + i);
        }
        Thread thread = new Thread(member::run, "member-" + i);
        thread.start();
        threads.add(thread);
      }
      Thread watcher =
          new Thread(
              () -> watch(admin, group, count, partitions, committed, stop), "group-watcher");
      watcher.setDaemon(true);
      watcher.start();
      GroupsApp.runUntilLeave(
          () -> {
            stop.set(true);
            for (Thread thread : threads) {
              try {
                thread.join(30_000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            say("left all");
          });
    }
    return 0;
  }

  /** Print the group's state and member count on every change, and `ready` once. */
  private static void watch(
      Admin admin,
      String group,
      int count,
      int partitions,
      Set<Integer> committed,
      AtomicBoolean stop) {
    String last = "";
    boolean ready = false;
    while (!stop.get()) {
      try {
        ConsumerGroupDescription description =
            admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
                .get(5, TimeUnit.SECONDS);
        String now =
            "group state=" + description.groupState() + " members="
                + description.members().size() + " type=" + description.type().toString().toLowerCase(Locale.ROOT);
        if (!now.equals(last)) {
          say(now);
          last = now;
        }
        if (!ready
            && description.groupState().toString().equals("Stable")
            && description.members().size() == count
            && committed.size() == partitions) {
          say("ready members=" + count + " partitions=" + partitions);
          ready = true;
        }
      } catch (Exception e) {
        if (!stop.get()) {
          say("error describe " + e);
        }
      }
      GroupsApp.sleep(200);
    }
  }

  /** One KafkaConsumer, used only from its own thread. */
  private static final class Member implements ConsumerRebalanceListener {
    private final int index;
    private final String topic;
    private final long commitAt;
    private final AtomicBoolean stop;
    private final Set<Integer> committed;
    private final Set<TopicPartition> pending = new TreeSet<>(
        (a, b) -> Integer.compare(a.partition(), b.partition()));
    private final Properties props = new Properties();
    private KafkaConsumer<byte[], byte[]> consumer;

    Member(
        int index,
        String bootstrap,
        String kind,
        String group,
        String topic,
        long commitAt,
        AtomicBoolean stop,
        Set<Integer> committed) {
      this.index = index;
      this.topic = topic;
      this.commitAt = commitAt;
      this.stop = stop;
      this.committed = committed;
      props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, kind);
      props.put(ConsumerConfig.CLIENT_ID_CONFIG, group + "-member-" + index);
      props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      if (kind.equals("classic")) { // the broker's minimum session timeout; rejoin quickly
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
      }
    }

    void run() {
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
        consumer = c;
        c.subscribe(List.of(topic), this);
        while (!stop.get()) {
          c.poll(Duration.ofMillis(100));
          commitPending();
        }
        say("leaving member=" + index);
      } catch (Exception e) {
        say("error member=" + index + " " + e);
      }
      say("left member=" + index);
    }

    private void commitPending() {
      pending.retainAll(consumer.assignment());
      if (pending.isEmpty()) {
        return;
      }
      Map<TopicPartition, OffsetAndMetadata> offsets =
          pending.stream()
              .collect(Collectors.toMap(tp -> tp, tp -> new OffsetAndMetadata(commitAt)));
      try {
        consumer.commitSync(offsets, Duration.ofSeconds(10));
      } catch (Exception e) { // a rebalance in between: retried after the next poll
        say("error commit member=" + index + " " + e);
        return;
      }
      for (TopicPartition tp : pending) {
        committed.add(tp.partition());
        say("committed member=" + index + " partition=" + tp.partition() + " offset=" + commitAt);
      }
      pending.clear();
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      consumer.pause(partitions);
      pending.addAll(partitions);
      say("assigned member=" + index + " partitions=" + numbers(partitions)
          + " now=" + numbers(consumer.assignment()));
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (!partitions.isEmpty()) {
        say("revoked member=" + index + " partitions=" + numbers(partitions));
      }
    }

    private static String numbers(Collection<TopicPartition> partitions) {
      return partitions.stream()
          .map(TopicPartition::partition)
          .sorted()
          .map(String::valueOf)
          .collect(Collectors.joining(","));
    }
  }
}
