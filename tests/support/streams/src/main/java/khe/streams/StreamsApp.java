package khe.streams;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * A minimal real Kafka Streams app for the jmx collector's end-to-end tests: reads --input,
 * uppercases each value, writes --output.
 *
 * <p>A value starting with "poison" makes the processor throw (once per distinct value in this
 * JVM, so a thread replaced by REPLACE_THREAD reprocesses it and carries on) unless started with
 * {@code --poison pass}. {@code --handler default} sets no handler (Kafka's default,
 * SHUTDOWN_CLIENT since 2.8); SHUTDOWN_CLIENT or REPLACE_THREAD install one returning that.
 *
 * <p>{@code --group-protocol classic|streams} sets group.protocol (unset: the client's default,
 * classic); {@code streams} makes the app a KIP-1071 streams group member on Kafka 4.2+.
 *
 * <p>Stdin commands: {@code close} calls {@code KafkaStreams.close()} and keeps the JVM running
 * (a client closed in a live JVM); {@code state} prints the client's state. Stdout lines the
 * harness waits for: {@code STATE old -> new}, {@code STARTED}, {@code OK close ...}.
 * Written against the API common to Kafka Streams 3.9 and 4.x.
 */
public final class StreamsApp {
  private static final Set<String> THROWN = ConcurrentHashMap.newKeySet();

  private StreamsApp() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    String poison = args.getOrDefault("poison", "throw");
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(require(args, "input"), Consumed.with(Serdes.String(), Serdes.String()))
        .mapValues(value -> transform(value, poison))
        .to(require(args, "output"), Produced.with(Serdes.String(), Serdes.String()));

    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, require(args, "bootstrap"));
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, require(args, "application-id"));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, args.getOrDefault("threads", "1"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, require(args, "state-dir"));
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200");
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
    // --group-protocol streams joins a KIP-1071 streams group (Kafka 4.2+; the broker sets the
    // timeouts then); without it the client's default, the classic protocol.
    String protocol = args.get("group-protocol");
    if (protocol != null) {
      props.put("group.protocol", protocol); // StreamsConfig.GROUP_PROTOCOL_CONFIG, 4.x only
    }
    if (protocol == null || protocol.equals("classic")) {
      // A SIGKILLed member leaves the group quickly (the broker's minimum session timeout).
      props.put(StreamsConfig.consumerPrefix("session.timeout.ms"), "6000");
      props.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), "1000");
    }

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.setStateListener((now, before) -> say("STATE " + before + " -> " + now));
    String handler = args.getOrDefault("handler", "default").toUpperCase(Locale.ROOT);
    if (!handler.equals("DEFAULT")) {
      StreamThreadExceptionResponse response = StreamThreadExceptionResponse.valueOf(handler);
      streams.setUncaughtExceptionHandler(
          exception -> {
            say("HANDLER " + response + ": " + exception);
            return response;
          });
    }
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> streams.close(Duration.ofSeconds(5)), "close-on-exit"));
    streams.start();
    say("STARTED handler=" + handler + " poison=" + poison);

    BufferedReader stdin =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = stdin.readLine()) != null) {
      String command = line.trim();
      if (command.equals("close")) {
        boolean closed = streams.close(Duration.ofSeconds(20));
        say("OK close " + closed + " " + streams.state());
      } else if (command.equals("state")) {
        say("OK state " + streams.state());
      } else if (!command.isEmpty()) {
        say("UNKNOWN " + command);
      }
    }
    new CountDownLatch(1).await(); // stdin closed: keep the JVM alive until it is signalled
  }

  private static String transform(String value, String poison) {
    if (value != null && value.startsWith("poison") && poison.equals("throw") && THROWN.add(value)) {
      throw new IllegalStateException("poison record: " + value);
    }
    return value == null ? null : value.toUpperCase(Locale.ROOT);
  }

  private static void say(String line) {
    synchronized (System.out) {
      System.out.println(line);
      System.out.flush();
    }
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
      }
      args.put(argv[i].substring(2), argv[++i]);
    }
    return args;
  }

  private static String require(Map<String, String> args, String name) {
    String value = args.get(name);
    if (value == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }
}
