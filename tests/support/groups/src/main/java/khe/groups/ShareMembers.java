package khe.groups;

import static khe.groups.GroupsApp.adminProps;
import static khe.groups.GroupsApp.require;
import static khe.groups.GroupsApp.say;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code share --group G --topic T --members N --ack M}: N KafkaShareConsumer members (KIP-932,
 * explicit acknowledgement, one record per poll) that together ACCEPT M records, then stop
 * polling but stay members (the heartbeat runs in the client's background thread). The group's
 * {@code share.auto.offset.reset} is set to earliest first, so records produced before count.
 *
 * <p>Lines: {@code polling member=i}, {@code acked member=i partition=p offset=o total=n},
 * {@code released ...} (a record delivered after the M-th: given back), {@code idle member=i},
 * {@code group state=S members=n} (the Admin's describe, on every change), {@code ready members=N
 * acked=M} once every acknowledgement is committed and the group is Stable with N members,
 * {@code left member=i} after close().
 */
final class ShareMembers {
  private ShareMembers() {}

  static int run(Map<String, String> args) throws Exception {
    String bootstrap = require(args, "bootstrap");
    String group = require(args, "group");
    String topic = require(args, "topic");
    int count = Integer.parseInt(require(args, "members"));
    int ack = Integer.parseInt(require(args, "ack"));

    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger claimed = new AtomicInteger(); // acknowledgements handed out (at most M)
    AtomicInteger confirmed = new AtomicInteger(); // of those, committed without error
    List<Thread> threads = new ArrayList<>();
    try (Admin admin = Admin.create(adminProps(bootstrap))) {
      ConfigResource resource = new ConfigResource(ConfigResource.Type.GROUP, group);
      AlterConfigOp earliest =
          new AlterConfigOp(
              new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET);
      admin.incrementalAlterConfigs(Map.of(resource, List.of(earliest)))
          .all().get(10, TimeUnit.SECONDS);
      say("configured group=" + group + " share.auto.offset.reset=earliest");
      for (int i = 0; i < count; i++) {
        int index = i;
        Thread thread =
            new Thread(
                () -> member(index, bootstrap, group, topic, ack, stop, claimed, confirmed),
                "share-member-" + i);
        thread.start();
        threads.add(thread);
      }
      Thread watcher =
          new Thread(() -> watch(admin, group, count, ack, confirmed, stop), "group-watcher");
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

  private static void member(
      int index,
      String bootstrap,
      String group,
      String topic,
      int ack,
      AtomicBoolean stop,
      AtomicInteger claimed,
      AtomicInteger confirmed) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, group + "-share-" + index);
    props.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
    props.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
    props.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "3600000"); // idle members stay
    props.put(ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG, "3600000");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaShareConsumer<byte[], byte[]> consumer = new KafkaShareConsumer<>(props)) {
      consumer.subscribe(List.of(topic));
      boolean first = true;
      // Every member polls at least once (that joins it), then until M records are claimed.
      while (!stop.get() && (first || claimed.get() < ack)) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
        if (first) {
          first = false;
          say("polling member=" + index);
        }
        int accepted = 0;
        for (ConsumerRecord<byte[], byte[]> record : records) {
          int total = claim(claimed, ack);
          if (total > 0) {
            consumer.acknowledge(record, AcknowledgeType.ACCEPT);
            accepted++;
            say("acked member=" + index + " partition=" + record.partition()
                + " offset=" + record.offset() + " total=" + total);
          } else {
            consumer.acknowledge(record, AcknowledgeType.RELEASE);
            say("released member=" + index + " partition=" + record.partition()
                + " offset=" + record.offset());
          }
        }
        if (!records.isEmpty()) {
          Map<TopicIdPartition, Optional<KafkaException>> results =
              consumer.commitSync(Duration.ofSeconds(10));
          boolean failed = false;
          for (Map.Entry<TopicIdPartition, Optional<KafkaException>> result : results.entrySet()) {
            if (result.getValue().isPresent()) {
              failed = true;
              say("error ack member=" + index + " " + result.getKey() + " "
                  + result.getValue().get());
            }
          }
          if (!failed) {
            confirmed.addAndGet(accepted);
          }
        }
      }
      say("idle member=" + index);
      while (!stop.get()) {
        GroupsApp.sleep(100);
      }
      say("leaving member=" + index);
    } catch (Exception e) {
      say("error member=" + index + " " + e);
    }
    say("left member=" + index);
  }

  /** The number (1..M) of this acknowledgement, or 0 once M have been handed out. */
  private static int claim(AtomicInteger claimed, int ack) {
    while (true) {
      int now = claimed.get();
      if (now >= ack) {
        return 0;
      }
      if (claimed.compareAndSet(now, now + 1)) {
        return now + 1;
      }
    }
  }

  private static void watch(
      Admin admin, String group, int count, int ack, AtomicInteger confirmed, AtomicBoolean stop) {
    String last = "";
    boolean ready = false;
    while (!stop.get()) {
      try {
        ShareGroupDescription description =
            admin.describeShareGroups(List.of(group)).describedGroups().get(group)
                .get(5, TimeUnit.SECONDS);
        String now =
            "group state=" + description.groupState() + " members="
                + description.members().size();
        if (!now.equals(last)) {
          say(now);
          last = now;
        }
        if (!ready
            && description.groupState().toString().equals("Stable")
            && description.members().size() == count
            && confirmed.get() == ack) {
          say("ready members=" + count + " acked=" + ack);
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
}
