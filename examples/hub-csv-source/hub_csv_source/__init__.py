"""An example Hub plugin: CSV files of a directory into a topic."""
