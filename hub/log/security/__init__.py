"""Security of the Kafka listener: who a connection is (TLS, SASL), what SCRAM credentials exist, and what each
principal may do (ACLs). ``contracts`` holds the types the parts share."""
