"""The API keys and version ranges the server advertises in ApiVersions: Apache Kafka 4.1's ranges.

Every advertised version of every API is served, flexible versions included (compact encodings and tagged fields,
KIP-482); the ranges are those a Kafka 4.1 broker reports, so clients negotiate with Hub as with Kafka 4.1. Its
minimums keep what old librdkafka looks for exactly (version 0 of Produce, the group APIs, FindCoordinator and
InitProducerId, Produce 3 and 7, Fetch 4 and 10, ListOffsets 1, OffsetCommit 2, OffsetFetch 1). Produce 0-2 are
advertised as Kafka 4 does (KAFKA-18659: librdkafka only compresses when Produce 0 is) but, as in Kafka 4, a
request of one of them closes its connection: they carry the old message format, which Kafka 4 no longer reads.
"""

from __future__ import annotations

from typing import Final

PRODUCE: Final = 0
API_VERSIONS: Final = 18

ADVERTISED: Final[dict[int, tuple[int, int]]] = {
    0: (0, 13),  # Produce
    1: (4, 18),  # Fetch
    2: (1, 10),  # ListOffsets
    3: (0, 13),  # Metadata
    8: (2, 9),  # OffsetCommit
    9: (1, 9),  # OffsetFetch
    10: (0, 6),  # FindCoordinator
    11: (0, 9),  # JoinGroup
    12: (0, 4),  # Heartbeat
    13: (0, 5),  # LeaveGroup
    14: (0, 5),  # SyncGroup
    15: (0, 6),  # DescribeGroups
    16: (0, 5),  # ListGroups
    17: (0, 1),  # SaslHandshake
    18: (0, 4),  # ApiVersions
    19: (2, 7),  # CreateTopics
    20: (1, 6),  # DeleteTopics
    21: (0, 2),  # DeleteRecords
    22: (0, 5),  # InitProducerId
    23: (2, 4),  # OffsetForLeaderEpoch
    24: (0, 5),  # AddPartitionsToTxn
    25: (0, 4),  # AddOffsetsToTxn
    26: (0, 5),  # EndTxn
    27: (1, 2),  # WriteTxnMarkers
    28: (0, 5),  # TxnOffsetCommit
    29: (1, 3),  # DescribeAcls
    30: (1, 3),  # CreateAcls
    31: (1, 3),  # DeleteAcls
    32: (1, 4),  # DescribeConfigs
    33: (0, 2),  # AlterConfigs
    35: (1, 4),  # DescribeLogDirs
    36: (0, 2),  # SaslAuthenticate
    37: (0, 3),  # CreatePartitions
    42: (0, 2),  # DeleteGroups
    43: (0, 2),  # ElectLeaders
    44: (0, 1),  # IncrementalAlterConfigs
    45: (0, 1),  # AlterPartitionReassignments
    46: (0, 0),  # ListPartitionReassignments
    47: (0, 0),  # OffsetDelete
    50: (0, 0),  # DescribeUserScramCredentials
    51: (0, 0),  # AlterUserScramCredentials
    55: (0, 2),  # DescribeQuorum
    60: (0, 2),  # DescribeCluster
    61: (0, 0),  # DescribeProducers
    65: (0, 0),  # DescribeTransactions
    66: (0, 2),  # ListTransactions
    68: (0, 1),  # ConsumerGroupHeartbeat
    69: (0, 1),  # ConsumerGroupDescribe
    75: (0, 0),  # DescribeTopicPartitions
}

#: Produce versions below this carry the pre-v2 message format: advertised, but a request of one closes its
#: connection (as in Kafka 4).
MIN_PRODUCE_WITH_RECORD_BATCHES: Final = 3


def supported(api_key: int, version: int) -> bool:
    low_high = ADVERTISED.get(api_key)
    return low_high is not None and low_high[0] <= version <= low_high[1]


#: Features (KIP-584) as ApiVersions v3+ reports them: name -> (min, max) supported level. A Kafka 4.1 broker lists
#: metadata.version, kraft.version, group.version, transaction.version, eligible.leader.replicas.version,
#: share.version and streams.version; Hub lists only those whose levels say something true of it: the consumer group
#: protocol of KIP-848 (group.version 1, ConsumerGroupHeartbeat) and transactions as before KIP-890's second part
#: (transaction.version 0: no epoch bump per transaction, so clients do not expect one).
#: metadata.version and kraft.version describe a KRaft quorum's record formats, which Hub's cluster does not have.
SUPPORTED_FEATURES: Final[dict[str, tuple[int, int]]] = {"group.version": (0, 1), "transaction.version": (0, 0)}
#: Finalized feature levels (name -> level); a feature at level 0 is not listed, as in Kafka.
FINALIZED_FEATURES: Final[dict[str, int]] = {"group.version": 1}
#: The epoch reported with finalized features (-1 while none are).
FINALIZED_FEATURES_EPOCH: Final = 0
