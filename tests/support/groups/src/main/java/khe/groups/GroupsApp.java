package khe.groups;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Real Kafka clients of every group type for the group metrics' end-to-end tests
 * (tests/support/group_clients.py). {@code GroupsApp MODE --name value ...}:
 *
 * <ul>
 *   <li>{@code members --kind consumer|classic --group G --topic T --members N --commit-at K}:
 *       N KafkaConsumer members (KIP-848 or classic protocol) that commit K on each partition they
 *       are assigned, pause it and keep polling ({@link Members}).
 *   <li>{@code share --group G --topic T --members N --ack M}: N KafkaShareConsumer members that
 *       accept M records in total, then stay members without polling ({@link ShareMembers}).
 *   <li>{@code share-offsets --group G}, {@code describe --group G --type consumer|share|streams},
 *       {@code list}, {@code features}: one JSON line of what the Admin client reads, then exit ({@link AdminModes}).
 * </ul>
 *
 * <p>Every mode takes {@code --bootstrap HOST:PORT}. The member modes print one line per event on
 * stdout ({@code assigned ...}, {@code committed ...}, {@code group state=S members=N},
 * {@code ready ...}, {@code left ...}) and leave the group cleanly (close()) on the stdin line
 * {@code leave}, at the end of stdin, or on SIGTERM; then the JVM exits 0.
 */
public final class GroupsApp {
  private GroupsApp() {}

  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) {
      throw new IllegalArgumentException("usage: GroupsApp MODE --name value ...");
    }
    Map<String, String> args = parse(Arrays.copyOfRange(argv, 1, argv.length));
    int code;
    switch (argv[0]) {
      case "members":
        code = Members.run(args);
        break;
      case "share":
        code = ShareMembers.run(args);
        break;
      case "share-offsets":
      case "describe":
      case "list":
      case "features":
        code = AdminModes.run(argv[0], args);
        break;
      default:
        throw new IllegalArgumentException("unknown mode " + argv[0]);
    }
    System.exit(code);
  }

  /** One event line on stdout, never interleaved with another. */
  static void say(String line) {
    synchronized (System.out) {
      System.out.println(line);
      System.out.flush();
    }
  }

  /**
   * Block until stdin says {@code leave} (or ends) or the JVM is asked to stop (SIGTERM); then
   * run {@code leave} once. On SIGTERM a shutdown hook runs it and halts with status 0, so a
   * terminated JVM has left the group too.
   */
  static void runUntilLeave(Runnable leave) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    AtomicBoolean started = new AtomicBoolean();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  if (started.compareAndSet(false, true)) { // SIGTERM before any leave
                    leave.run();
                    say("exit");
                    Runtime.getRuntime().halt(0);
                  }
                },
                "leave-on-exit"));
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader stdin =
                  new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = stdin.readLine()) != null) {
                  String command = line.trim();
                  if (command.equals("leave")) {
                    break;
                  } else if (!command.isEmpty()) {
                    say("unknown command=" + command);
                  }
                }
              } catch (Exception e) {
                say("error stdin " + e);
              }
              if (started.compareAndSet(false, true)) {
                leave.run();
                done.countDown();
              }
            },
            "stdin");
    reader.setDaemon(true);
    reader.start();
    done.await();
    say("exit");
  }

  static Properties adminProps(String bootstrap) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "groups-admin");
    return props;
  }

  static void sleep(long millis) {
    try {
      TimeUnit.MILLISECONDS.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A minimal JSON encoder: maps, collections, strings, numbers, booleans and null. */
  static String json(Object value) {
    StringBuilder out = new StringBuilder();
    writeJson(out, value);
    return out.toString();
  }

  private static void writeJson(StringBuilder out, Object value) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Map) {
      out.append('{');
      Iterator<? extends Map.Entry<?, ?>> it = ((Map<?, ?>) value).entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<?, ?> entry = it.next();
        writeJson(out, String.valueOf(entry.getKey()));
        out.append(':');
        writeJson(out, entry.getValue());
        if (it.hasNext()) {
          out.append(',');
        }
      }
      out.append('}');
    } else if (value instanceof Collection) {
      out.append('[');
      Iterator<?> it = ((Collection<?>) value).iterator();
      while (it.hasNext()) {
        writeJson(out, it.next());
        if (it.hasNext()) {
          out.append(',');
        }
      }
      out.append(']');
    } else {
      out.append('"');
      for (char c : value.toString().toCharArray()) {
        if (c == '"' || c == '\\') {
          out.append('\\').append(c);
        } else if (c < 0x20) {
          out.append(String.format("\\u%04x", (int) c));
        } else {
          out.append(c);
        }
      }
      out.append('"');
    }
  }

  static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
      }
      args.put(argv[i].substring(2), argv[++i]);
    }
    return args;
  }

  static String require(Map<String, String> args, String name) {
    String value = args.get(name);
    if (value == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }
}
