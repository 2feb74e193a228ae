import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * A JVM that looks like a Kafka Streams application over JMX, for the exporter's tests.
 *
 * <p>It registers DynamicMBeans the way Kafka's JmxReporter does (every attribute declared as
 * "double" in the MBeanInfo, the value being whatever the metric returns), under the same object
 * names. Modes (first argument):
 * <ul>
 *   <li>string: a 4.x client, `state` is a String and `client-state` a number (process-id bean);
 *   <li>enum: a 3.x client, `state` is an enum a remote client cannot deserialize (reads as null);
 *   <li>removed: like enum, but dying unregisters every kafka.streams bean (3.x default handler);
 *   <li>old: a pre-KIP-444 client with only kafka-metrics-count and thread-level beans.
 * </ul>
 * Optional arguments: client id, number of stream threads, and "late" (no kafka.streams beans
 * until the first "alive": an app still building its KafkaStreams client).
 * Commands on stdin, one per line: dead, alive, quit. Each is acknowledged with "OK <command>".
 */
public final class FakeStreamsApp {

    /** Stands in for KafkaStreams.State: a class the remote JMX client does not have. */
    enum State { CREATED, REBALANCING, RUNNING, PENDING_SHUTDOWN, NOT_RUNNING, PENDING_ERROR, ERROR }

    /** Kafka's JmxReporter.KafkaMbean, reduced to what a reader sees. */
    static final class MetricsBean implements DynamicMBean {
        private final Map<String, Supplier<Object>> metrics = new LinkedHashMap<>();

        MetricsBean add(String name, Supplier<Object> value) {
            metrics.put(name, value);
            return this;
        }

        @Override
        public Object getAttribute(String name) throws AttributeNotFoundException {
            Supplier<Object> metric = metrics.get(name);
            if (metric == null) {
                throw new AttributeNotFoundException("Could not find attribute " + name);
            }
            return metric.get();
        }

        @Override
        public AttributeList getAttributes(String[] names) {
            AttributeList list = new AttributeList();
            for (String name : names) {
                try {
                    list.add(new Attribute(name, getAttribute(name)));
                } catch (AttributeNotFoundException e) {
                    // Kafka logs and skips
                }
            }
            return list;
        }

        @Override
        public MBeanInfo getMBeanInfo() {
            List<MBeanAttributeInfo> attrs = new ArrayList<>();
            for (String name : metrics.keySet()) {
                attrs.add(new MBeanAttributeInfo(name, double.class.getName(), name, true, false, false));
            }
            return new MBeanInfo(MetricsBean.class.getName(), "",
                attrs.toArray(new MBeanAttributeInfo[0]), null, null, null);
        }

        @Override
        public Object invoke(String name, Object[] params, String[] sig) {
            throw new UnsupportedOperationException("Set not allowed.");
        }

        @Override
        public void setAttribute(Attribute attribute) {
            throw new UnsupportedOperationException("Set not allowed.");
        }

        @Override
        public AttributeList setAttributes(AttributeList list) {
            throw new UnsupportedOperationException("Set not allowed.");
        }
    }

    private final String mode;
    private final String clientId;
    private final int threads;
    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    private final Map<ObjectName, MetricsBean> streamsBeans = new LinkedHashMap<>();
    private volatile boolean alive = true;
    private volatile double failedThreads = 0.0;

    FakeStreamsApp(String mode, String clientId, int threads) {
        this.mode = mode;
        this.clientId = clientId;
        this.threads = threads;
    }

    private State state() {
        return alive ? State.RUNNING : State.ERROR;
    }

    private void build() throws Exception {
        streamsBeans.put(new ObjectName("kafka.streams:type=kafka-metrics-count"),
            new MetricsBean().add("count", () -> alive ? 57.0 : 1.0));
        String client = "kafka.streams:type=stream-metrics,client-id=" + clientId;
        String topology = "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000"
            + " (topics: [\"orders\"])\n      --> KSTREAM-SINK-0000000001\n";
        if (mode.equals("old")) {
            for (int i = 1; i <= threads; i++) {
                streamsBeans.put(new ObjectName(client + "-StreamThread-" + i),
                    new MetricsBean().add("commit-latency-avg", () -> 3.5)
                        .add("poll-rate", () -> alive ? 10.0 : 0.0));
            }
            return;
        }
        MetricsBean clientBean = new MetricsBean()
            .add("version", () -> mode.equals("string") ? "4.0.0" : "3.7.1")
            .add("commit-id", () -> "abc123")
            .add("application-id", () -> "orders-app")
            .add("topology-description", () -> topology)
            .add("alive-stream-threads", () -> alive ? Integer.valueOf(threads) : Integer.valueOf(0))
            .add("failed-stream-threads", () -> failedThreads);
        if (mode.equals("string")) {
            clientBean.add("state", () -> state().name());
            streamsBeans.put(new ObjectName(client + ",process-id=5bd5b5e6-9c55-4a3e-9b7c-0d3f6f0b1a2c"),
                new MetricsBean().add("client-state", () -> Integer.valueOf(state().ordinal())));
        } else {
            clientBean.add("state", this::state);
        }
        streamsBeans.put(new ObjectName(client), clientBean);
        for (int i = 1; i <= threads; i++) {
            streamsBeans.put(new ObjectName("kafka.streams:type=stream-thread-metrics,thread-id="
                + clientId + "-StreamThread-" + i), new MetricsBean().add("poll-rate", () -> 10.0));
        }
    }

    private void registerStreams() throws Exception {
        for (Map.Entry<ObjectName, MetricsBean> bean : streamsBeans.entrySet()) {
            if (!server.isRegistered(bean.getKey())) {
                server.registerMBean(bean.getValue(), bean.getKey());
            }
        }
    }

    private void unregisterStreams() throws Exception {
        for (ObjectName name : server.queryNames(new ObjectName("kafka.streams:*"), null)) {
            server.unregisterMBean(name);
        }
    }

    private void registerClients() throws Exception {
        // The embedded clients' beans: a `*:type=kafka-metrics-count` query would match these too.
        server.registerMBean(new MetricsBean().add("count", () -> 250.0),
            new ObjectName("kafka.consumer:type=kafka-metrics-count"));
        server.registerMBean(new MetricsBean().add("count", () -> 120.0),
            new ObjectName("kafka.producer:type=kafka-metrics-count"));
        server.registerMBean(new MetricsBean().add("records-lag-max", () -> 12.0)
                .add("records-consumed-rate", () -> 3.25),
            new ObjectName("kafka.consumer:type=consumer-fetch-manager-metrics,client-id="
                + clientId + "-StreamThread-1-consumer"));
    }

    private void apply(String command) throws Exception {
        switch (command) {
            case "dead":
                alive = false;
                failedThreads += threads;
                if (mode.equals("removed")) {
                    unregisterStreams();
                }
                break;
            case "alive":
                alive = true;
                registerStreams();
                break;
            default:
                throw new IllegalArgumentException("unknown command " + command);
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "string";
        if (!List.of("string", "enum", "removed", "old").contains(mode)) {
            System.err.println("usage: FakeStreamsApp string|enum|removed|old [client-id] [threads] [late]");
            System.exit(2);
        }
        String clientId = args.length > 1 ? args[1] : "orders-app-7f1c2d3e";
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        boolean late = args.length > 3 && args[3].equals("late");
        FakeStreamsApp app = new FakeStreamsApp(mode, clientId, threads);
        app.build();
        if (!late) {
            app.registerStreams();
        }
        app.registerClients();
        System.out.println("READY " + mode);
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String command = line.trim();
            if (command.isEmpty()) {
                continue;
            }
            if (command.equals("quit")) {
                break;
            }
            try {
                app.apply(command);
                System.out.println("OK " + command);
            } catch (Exception e) {
                System.out.println("ERROR " + e);
            }
            System.out.flush();
        }
        System.exit(0);
    }
}
