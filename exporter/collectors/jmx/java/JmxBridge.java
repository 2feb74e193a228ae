/*
 * A long-lived JMX client for the exporter's `jmx` collector, speaking JSON lines on stdin/stdout.
 *
 * Started once by exporter/collectors/jmx/bridge.py (`java JmxBridge.java`, the single-file source
 * launcher) and kept running: its JMXConnector stays open across refreshes and is reopened when a
 * call fails with an I/O error (the target restarted). Credentials come over the pipe, never on
 * the command line. Each request is bounded by its own timeout_ms: a call still running then is
 * abandoned (its connector closed, a fresh worker thread used next) and the reply says "timeout".
 * End of stdin (the exporter exited or was killed) ends the bridge.
 *
 * Request:  {"id": 1, "url": "service:jmx:...", "username": "u"|null, "password": "p"|null,
 *            "timeout_ms": 1500, "queries": [{"object_name": "d:k=v,*", "attribute": "a", "key": null}]}
 * Reply:    {"id": 1, "readings": [{"object_name", "attribute", "key", "type", "value"}]}
 *           {"id": 1, "error": "connection-error"|"timeout"|"bad-request"|..., "message": "..."}
 * First line written at start: {"ready": true}
 */

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.rmi.UnmarshalException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.management.AttributeNotFoundException;
import javax.management.InstanceNotFoundException;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public final class JmxBridge {
    private static final PrintStream OUT =
            new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);

    /** One worker thread and its connector; replaced as a whole when a call hangs. */
    private static final class Session {
        final ExecutorService worker = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "jmx-call");
            thread.setDaemon(true);
            return thread;
        });
        volatile JMXConnector connector;
        String connectedAs;
    }

    private static volatile Session session = new Session();

    public static void main(String[] args) throws IOException {
        System.setOut(System.err); // nothing but replies on stdout
        reply("{\"ready\":true}");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        java.util.concurrent.BlockingQueue<String> requests = new java.util.concurrent.LinkedBlockingQueue<>();
        Thread handler = new Thread(() -> {
            try {
                while (true) {
                    reply(handle(requests.take()));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "requests");
        handler.setDaemon(true);
        handler.start();
        String line;
        while ((line = in.readLine()) != null) {
            if (!line.isBlank()) {
                requests.add(line);
            }
        }
        System.exit(0); // end of input: stop at once, even with a call stuck in a hung target
    }

    private static void reply(String line) {
        OUT.print(line);
        OUT.print('\n');
        OUT.flush();
    }

    @SuppressWarnings("unchecked")
    static String handle(String line) {
        Object id = null;
        try {
            Map<String, Object> request = (Map<String, Object>) new Json(line).parse();
            id = request.get("id");
            String url = (String) Objects.requireNonNull(request.get("url"), "url");
            String username = (String) request.get("username");
            String password = (String) request.get("password");
            long timeoutMs = ((Number) Objects.requireNonNull(request.get("timeout_ms"), "timeout_ms")).longValue();
            List<Object> queries = (List<Object>) Objects.requireNonNull(request.get("queries"), "queries");
            Session current = session;
            Future<String> call = current.worker.submit(() -> run(current, url, username, password, queries));
            try {
                return "{\"id\":" + Json.write(id) + ",\"readings\":" + call.get(timeoutMs, TimeUnit.MILLISECONDS) + "}";
            } catch (TimeoutException e) {
                call.cancel(true);
                abandon(current);
                return error(id, "timeout", "no answer within " + timeoutMs + " ms");
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                String kind = cause instanceof SecurityException ? "authentication-error" : "connection-error";
                return error(id, kind, describe(cause));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(id, "interrupted", describe(e));
        } catch (RuntimeException e) {
            return error(id, "bad-request", describe(e));
        }
    }

    private static String error(Object id, String kind, String message) {
        return "{\"id\":" + Json.write(id) + ",\"error\":" + Json.write(kind) + ",\"message\":" + Json.write(message) + "}";
    }

    /** The exception and its causes, one after the other (e.g. "... Connection refused"). */
    static String describe(Throwable error) {
        StringBuilder out = new StringBuilder();
        Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Throwable t = error; t != null && seen.add(t); t = t.getCause()) {
            if (out.length() > 0) {
                out.append("; caused by ");
            }
            out.append(t);
        }
        return out.toString();
    }

    /** Drop the session of a call that hung: its worker stops, its connector closes off this thread. */
    private static void abandon(Session stuck) {
        session = new Session();
        stuck.worker.shutdownNow();
        Thread closer = new Thread(() -> closeQuietly(stuck.connector), "jmx-close");
        closer.setDaemon(true);
        closer.start();
    }

    private static void closeQuietly(JMXConnector c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException | RuntimeException ignored) {
            // already broken
        }
    }

    /** The session's connection for these credentials, opened (or reopened when `fresh`) here. */
    private static MBeanServerConnection connection(Session s, String url, String user, String password,
            boolean fresh) throws IOException {
        String who = url + "\n" + user + "\n" + password;
        if (s.connector != null && (fresh || !who.equals(s.connectedAs))) {
            closeQuietly(s.connector);
            s.connector = null;
        }
        if (s.connector == null) {
            Map<String, Object> env = new HashMap<>();
            if (user != null) {
                env.put(JMXConnector.CREDENTIALS, new String[] {user, password == null ? "" : password});
            }
            JMXConnector opened = JMXConnectorFactory.connect(new JMXServiceURL(url), env);
            if (s != session) { // abandoned while connecting
                closeQuietly(opened);
                throw new IOException("abandoned after a timeout");
            }
            s.connector = opened;
            s.connectedAs = who;
        }
        return s.connector.getMBeanServerConnection();
    }

    /** Every query on the open connection; an I/O failure reconnects once (a restarted target). */
    private static String run(Session s, String url, String user, String password, List<Object> queries)
            throws Exception {
        try {
            return readAll(connection(s, url, user, password, false), queries);
        } catch (IOException first) {
            try {
                return readAll(connection(s, url, user, password, true), queries);
            } catch (IOException again) {
                closeQuietly(s.connector);
                s.connector = null;
                throw again;
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static String readAll(MBeanServerConnection server, List<Object> queries) throws Exception {
        Map<String, Set<ObjectName>> names = new LinkedHashMap<>();
        StringBuilder out = new StringBuilder("[");
        for (Object item : queries) {
            Map<String, Object> query = (Map<String, Object>) item;
            String pattern = (String) query.get("object_name");
            String attribute = (String) query.get("attribute");
            String key = (String) query.get("key");
            Set<ObjectName> found = names.get(pattern);
            if (found == null) {
                found = new TreeSet<>(server.queryNames(new ObjectName(pattern), null));
                names.put(pattern, found);
            }
            for (ObjectName name : found) {
                read(server, name, attribute, key, out);
            }
        }
        return out.append("]").toString();
    }

    private static void read(MBeanServerConnection server, ObjectName name, String attribute, String key,
            StringBuilder out) throws IOException {
        Object value;
        try {
            value = server.getAttribute(name, attribute);
        } catch (AttributeNotFoundException | InstanceNotFoundException e) {
            return; // this bean has no such attribute, or went away since queryNames
        } catch (UnmarshalException e) {
            value = null; // e.g. an enum class this client does not have
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            value = null; // the getter itself failed
        }
        if (value instanceof CompositeData) {
            CompositeData data = (CompositeData) value;
            if (key != null) {
                item(out, name, attribute, key, data.containsKey(key) ? data.get(key) : null);
            } else {
                for (String each : new TreeSet<>(data.getCompositeType().keySet())) {
                    item(out, name, attribute, each, data.get(each));
                }
            }
            return;
        }
        item(out, name, attribute, key, key == null ? value : null);
    }

    private static void item(StringBuilder out, ObjectName name, String attribute, String key, Object value) {
        if (out.length() > 1) {
            out.append(',');
        }
        String type = value == null ? "Null" : value.getClass().getSimpleName();
        Object shown = value;
        if (value != null && !(value instanceof Number) && !(value instanceof Boolean) && !(value instanceof String)) {
            shown = String.valueOf(value);
        }
        out.append("{\"object_name\":").append(Json.write(name.toString()))
                .append(",\"attribute\":").append(Json.write(attribute))
                .append(",\"key\":").append(Json.write(key))
                .append(",\"type\":").append(Json.write(type))
                .append(",\"value\":").append(Json.write(shown)).append('}');
    }

    /** Just enough JSON: objects, arrays, strings, numbers, true/false/null. */
    static final class Json {
        private final String text;
        private int at;

        Json(String text) {
            this.text = text;
        }

        Object parse() {
            Object value = value();
            space();
            if (at != text.length()) {
                throw new IllegalArgumentException("trailing data at " + at);
            }
            return value;
        }

        private void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
                at++;
            }
        }

        private Object value() {
            space();
            if (at >= text.length()) {
                throw new IllegalArgumentException("unexpected end of input");
            }
            char c = text.charAt(at);
            if (c == '{') {
                Map<String, Object> map = new LinkedHashMap<>();
                at++;
                space();
                if (peek('}')) {
                    return map;
                }
                do {
                    space();
                    String key = string();
                    space();
                    expect(':');
                    map.put(key, value());
                    space();
                } while (peek(','));
                expect('}');
                return map;
            }
            if (c == '[') {
                List<Object> list = new ArrayList<>();
                at++;
                space();
                if (peek(']')) {
                    return list;
                }
                do {
                    list.add(value());
                    space();
                } while (peek(','));
                expect(']');
                return list;
            }
            if (c == '"') {
                return string();
            }
            for (String word : new String[] {"true", "false", "null"}) {
                if (text.startsWith(word, at)) {
                    at += word.length();
                    return word.equals("null") ? null : Boolean.valueOf(word);
                }
            }
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            if (start == at) {
                throw new IllegalArgumentException("unexpected character at " + at);
            }
            return Double.valueOf(text.substring(start, at));
        }

        private boolean peek(char c) {
            if (at < text.length() && text.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw new IllegalArgumentException("expected '" + c + "' at " + at);
            }
        }

        private String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (at < text.length()) {
                char c = text.charAt(at++);
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n': out.append('\n'); break;
                    case 't': out.append('\t'); break;
                    case 'r': out.append('\r'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'u': out.append((char) Integer.parseInt(text.substring(at, at + 4), 16)); at += 4; break;
                    default: out.append(e);
                }
            }
            throw new IllegalArgumentException("unterminated string");
        }

        static String write(Object value) {
            if (value == null) {
                return "null";
            }
            if (value instanceof Boolean) {
                return value.toString();
            }
            if (value instanceof Number) {
                double d = ((Number) value).doubleValue();
                if (Double.isNaN(d) || Double.isInfinite(d)) {
                    return write(value.toString());
                }
                return value instanceof Double || value instanceof Float ? Double.toString(d) : value.toString();
            }
            String s = value.toString();
            StringBuilder out = new StringBuilder("\"");
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') {
                    out.append('\\').append(c);
                } else if (c < 0x20) {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
            return out.append('"').toString();
        }
    }
}
