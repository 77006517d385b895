"""S3 connectors: S3Sink archives topics to objects exactly once, S3Source restores them (Confluent's options).

Both connectors are one module each (``sink``, ``source``) over the object layer they share: the options and
settings (``config``, ``class_names``, ``settings``), the object formats (``formats`` and ``*_format``), object
names (``naming``), the bucket (``storage``) and spill-to-disk buffers (``buffer``). Only the sink partitions,
rotates and uploads (``partitioners``, ``time_format``, ``writer``, ``upload``).
"""
