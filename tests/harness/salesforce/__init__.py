"""A local stand-in for Salesforce's APIs, run as its own process for the tests (no Salesforce runs here).

Covers what Hub's Salesforce connectors use, shaped as Salesforce documents it: logins (SOAP partner ``login``;
OAuth 2.0 JWT bearer, client credentials and username-password grants), the REST data API (versions, resources,
limits, query/queryAll with locators, describeGlobal and describe, record CRUD, upsert by external id,
``composite/sobjects``), Bulk API 2.0 ingest and query jobs, and Salesforce's error bodies. The org model keeps
sObject types, records with their audit fields, and a recycle bin; every record change goes to the change feed
(:mod:`.changes`), which the Streaming API reads. ``/_harness/`` is a test-only control API (:mod:`.control`).

Modules: ``org`` (the org and its transactions), ``schema`` (types, fields, describe, value checks), ``standard`` (the
objects an org starts with), ``ids``,
``soql`` (the query subset), ``rest``, ``collections`` (``composite/sobjects``), ``bulk2`` (Bulk API 2.0),
``responses`` (JSON in and out), ``auth`` (logins), ``sessions``, ``faults``, ``control``, ``changes`` (the change
feed), ``app`` (``build_app``), ``harness`` (the launcher and ``SalesforceServer``), ``client`` (simple-salesforce
pointed at a server). ``doc_examples/`` holds the documentation-shaped bodies the faithfulness tests compare with.
"""
