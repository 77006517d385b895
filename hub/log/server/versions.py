"""The API keys and version ranges the server advertises in ApiVersions.

Chosen for the clients Hub must serve (librdkafka/confluent-kafka and kcat, kafka-python, aiokafka): minimum
version 0 where old librdkafka looks for exactly 0 (Produce, the group APIs, FindCoordinator, InitProducerId),
ranges that contain Produce 3 and 7, Fetch 4 and 10, ListOffsets 1, OffsetCommit 2 and OffsetFetch 1, and of the
client APIs flexible versions only where a client needs them: ApiVersions 3, SaslAuthenticate 2 (Kafka's clients
re-authenticate with it), Metadata 9-12 and OffsetCommit 8-9 (the consumer group protocol).
The cluster admin APIs (``cluster_handlers``) are served at every version of their definitions, flexible ones
included: AlterPartitionReassignments, ListPartitionReassignments, DescribeQuorum and DescribeCluster have no
other. Produce 0-2 are advertised (librdkafka only compresses when Produce 0 is) but answered with
UNSUPPORTED_VERSION per partition, since they carry the old message format.
"""

from __future__ import annotations

from typing import Final

API_VERSIONS: Final = 18

ADVERTISED: Final[dict[int, tuple[int, int]]] = {
    0: (0, 8),  # Produce
    1: (4, 11),  # Fetch
    2: (1, 5),  # ListOffsets
    3: (0, 12),  # Metadata (topic ids from 10, requests by id from 12: the consumer group protocol needs them)
    8: (2, 9),  # OffsetCommit (9: members of consumer groups commit with their member epoch)
    9: (1, 5),  # OffsetFetch
    10: (0, 2),  # FindCoordinator
    11: (0, 5),  # JoinGroup
    12: (0, 3),  # Heartbeat
    13: (0, 3),  # LeaveGroup
    14: (0, 3),  # SyncGroup
    15: (0, 4),  # DescribeGroups
    16: (0, 2),  # ListGroups
    17: (0, 1),  # SaslHandshake
    18: (0, 3),  # ApiVersions
    19: (0, 4),  # CreateTopics
    20: (0, 3),  # DeleteTopics
    21: (0, 2),  # DeleteRecords
    22: (0, 1),  # InitProducerId
    23: (0, 3),  # OffsetForLeaderEpoch
    29: (1, 3),  # DescribeAcls
    30: (1, 3),  # CreateAcls
    31: (1, 3),  # DeleteAcls
    32: (1, 4),  # DescribeConfigs
    33: (0, 2),  # AlterConfigs
    35: (0, 4),  # DescribeLogDirs
    36: (0, 2),  # SaslAuthenticate
    37: (0, 3),  # CreatePartitions
    42: (0, 2),  # DeleteGroups
    43: (0, 2),  # ElectLeaders
    44: (0, 1),  # IncrementalAlterConfigs
    45: (0, 0),  # AlterPartitionReassignments
    46: (0, 0),  # ListPartitionReassignments
    47: (0, 0),  # OffsetDelete
    50: (0, 0),  # DescribeUserScramCredentials
    51: (0, 0),  # AlterUserScramCredentials
    55: (0, 2),  # DescribeQuorum
    60: (0, 1),  # DescribeCluster
    61: (0, 0),  # DescribeProducers
    68: (0, 1),  # ConsumerGroupHeartbeat
    69: (0, 1),  # ConsumerGroupDescribe
}

#: Produce versions below this carry the pre-v2 message format and are refused per partition.
MIN_PRODUCE_WITH_RECORD_BATCHES: Final = 3


def supported(api_key: int, version: int) -> bool:
    low_high = ADVERTISED.get(api_key)
    return low_high is not None and low_high[0] <= version <= low_high[1]
