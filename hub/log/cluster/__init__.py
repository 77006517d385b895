"""A cluster of Hub stores (Kafka's combined mode): a metadata quorum on Raft that every node votes in, the
controller that the quorum's leader runs, and the replication of partitions between the nodes."""
