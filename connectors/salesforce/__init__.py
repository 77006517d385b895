"""Salesforce connectors: sources and a sink with the class names and options of Confluent's Salesforce connectors.

Shared parts: the options every connector takes to reach an org (``config``) and their typed settings
(``settings``), the logged-in HTTP session with re-login and retries (``session``, over ``transport``), sObject
describe results turned into Connect schemas and values (``schema``) and the Bulk API 2.0 jobs (``bulk2``).
Connectors: ``SalesforceBulkApiSourceConnector`` (``bulk_source``) and ``SalesforceSObjectSinkConnector``
(``sobject_sink``, writing through ``writes``); ``plugin`` registers them.
"""
