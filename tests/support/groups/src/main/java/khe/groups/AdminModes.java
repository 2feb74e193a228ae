package khe.groups;

import static khe.groups.GroupsApp.adminProps;
import static khe.groups.GroupsApp.json;
import static khe.groups.GroupsApp.require;
import static khe.groups.GroupsApp.say;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.admin.StreamsGroupDescription;
import org.apache.kafka.common.TopicPartition;

/**
 * One JSON line of what the Admin client reads, then exit 0:
 *
 * <ul>
 *   <li>{@code share-offsets --group G}: listShareGroupOffsets, {@code {"group": G,
 *       "partitions": [{"topic", "partition", "start_offset", "leader_epoch", "lag"}]}} (lag and
 *       leader_epoch null when the broker does not know them; DescribeShareGroupOffsets v1 has lag).
 *   <li>{@code describe --group G --type consumer|share|streams}: {@code {"group", "type",
 *       "state", "members", "assignments": {client_id: [partitions]}, "member_details":
 *       [{"member_id", "client_id", "host", "group_instance_id", "partitions"}]}}; consumer covers
 *       both the KIP-848 and the classic protocol (the type says which); group_instance_id is
 *       null for a dynamic member, partitions the count of assigned partitions.
 *   <li>{@code list}: ListGroups, {@code {"groups": [{"group", "type", "protocol", "state"}]}}
 *       (type as ListGroups v5 names it: classic, consumer, share, streams).
 *   <li>{@code features}: DescribeFeatures, {@code {"finalized": {name: level}}}.
 * </ul>
 */
final class AdminModes {
  private static final long TIMEOUT_S = 15;

  private AdminModes() {}

  static int run(String mode, Map<String, String> args) throws Exception {
    try (Admin admin = Admin.create(adminProps(require(args, "bootstrap")))) {
      switch (mode) {
        case "share-offsets":
          say(json(shareOffsets(admin, require(args, "group"))));
          break;
        case "describe":
          say(json(describe(admin, require(args, "group"), require(args, "type"))));
          break;
        case "features":
          say(json(features(admin)));
          break;
        default:
          say(json(list(admin)));
          break;
      }
    }
    return 0;
  }

  private static Map<String, Object> shareOffsets(Admin admin, String group) throws Exception {
    Map<TopicPartition, SharePartitionOffsetInfo> offsets =
        admin.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec()))
            .partitionsToOffsetInfo(group).get(TIMEOUT_S, TimeUnit.SECONDS);
    List<TopicPartition> order = new ArrayList<>(offsets.keySet());
    order.sort(
        Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
    List<Object> partitions = new ArrayList<>();
    for (TopicPartition tp : order) {
      SharePartitionOffsetInfo info = offsets.get(tp);
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("topic", tp.topic());
      row.put("partition", tp.partition());
      row.put("start_offset", info == null ? null : info.startOffset());
      row.put("leader_epoch", info == null ? null : info.leaderEpoch().orElse(null));
      row.put("lag", info == null ? null : info.lag().orElse(null));
      partitions.add(row);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("group", group);
    out.put("partitions", partitions);
    return out;
  }

  private static Map<String, Object> describe(Admin admin, String group, String type)
      throws Exception {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("group", group);
    Map<String, Object> assignments = new LinkedHashMap<>();
    List<Object> details = new ArrayList<>();
    switch (type) {
      case "consumer":
        ConsumerGroupDescription consumer =
            admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
                .get(TIMEOUT_S, TimeUnit.SECONDS);
        out.put("type", lower(consumer.type()));
        out.put("state", String.valueOf(consumer.groupState()));
        out.put("members", consumer.members().size());
        for (MemberDescription member : consumer.members()) {
          assignments.put(member.clientId(), partitions(member.assignment().topicPartitions()));
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("member_id", member.consumerId());
          row.put("client_id", member.clientId());
          row.put("host", member.host());
          row.put("group_instance_id", member.groupInstanceId().orElse(null));
          row.put("partitions", member.assignment().topicPartitions().size());
          details.add(row);
        }
        break;
      case "share":
        ShareGroupDescription share =
            admin.describeShareGroups(List.of(group)).describedGroups().get(group)
                .get(TIMEOUT_S, TimeUnit.SECONDS);
        out.put("type", "share");
        out.put("state", String.valueOf(share.groupState()));
        out.put("members", share.members().size());
        for (ShareMemberDescription member : share.members()) {
          assignments.put(member.clientId(), partitions(member.assignment().topicPartitions()));
        }
        break;
      case "streams":
        StreamsGroupDescription streams =
            admin.describeStreamsGroups(List.of(group)).describedGroups().get(group)
                .get(TIMEOUT_S, TimeUnit.SECONDS);
        out.put("type", "streams");
        out.put("state", String.valueOf(streams.groupState()));
        out.put("members", streams.members().size());
        streams.members().forEach(m -> assignments.put(m.clientId(), m.assignment().toString()));
        streams.members().forEach(m -> {
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("member_id", m.memberId());
          row.put("client_id", m.clientId());
          row.put("host", m.clientHost());
          row.put("group_instance_id", m.instanceId().orElse(null));
          details.add(row);
        });
        break;
      default:
        throw new IllegalArgumentException("--type is consumer, share or streams, not " + type);
    }
    out.put("assignments", assignments);
    out.put("member_details", details);
    return out;
  }

  private static Map<String, Object> features(Admin admin) throws Exception {
    FeatureMetadata metadata =
        admin.describeFeatures().featureMetadata().get(TIMEOUT_S, TimeUnit.SECONDS);
    Map<String, Object> finalized = new TreeMap<>();
    metadata.finalizedFeatures().forEach(
        (name, range) -> finalized.put(name, range.maxVersionLevel()));
    return Map.of("finalized", finalized);
  }

  private static Map<String, Object> list(Admin admin) throws Exception {
    List<Object> groups = new ArrayList<>();
    List<GroupListing> listings =
        new ArrayList<>(
            admin.listGroups(new ListGroupsOptions()).all().get(TIMEOUT_S, TimeUnit.SECONDS));
    listings.sort(Comparator.comparing(GroupListing::groupId));
    for (GroupListing listing : listings) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("group", listing.groupId());
      row.put("type", listing.type().map(AdminModes::lower).orElse(null));
      row.put("protocol", listing.protocol());
      row.put("state", listing.groupState().map(String::valueOf).orElse(null));
      groups.add(row);
    }
    return Map.of("groups", groups);
  }

  private static String lower(Object value) {
    return String.valueOf(value).toLowerCase(Locale.ROOT);
  }

  private static List<String> partitions(java.util.Set<TopicPartition> partitions) {
    List<String> out = new ArrayList<>();
    partitions.stream()
        .sorted(
            Comparator.comparing(TopicPartition::topic)
                .thenComparingInt(TopicPartition::partition))
        .forEach(tp -> out.add(tp.topic() + ":" + tp.partition()));
    return out;
  }
}
