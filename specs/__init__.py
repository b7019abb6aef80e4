"""The built-in vendor data (YAML and JSON only), installed as the package `conformance._specs`."""
