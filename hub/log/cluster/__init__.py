"""A cluster of Hub stores, in Kafka's model: a metadata quorum on Raft (voters are broker and controller at once,
other nodes observe it as brokers only), the controller that the quorum's leader runs, and the replication of
partitions between the nodes (docs/replication.md)."""
