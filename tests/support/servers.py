"""Which servers the suite runs on: "embedded" (Tansu, nx-27017; the default) or "containers" (Apache Kafka
and MongoDB through testcontainers, `make test-containers`). Read at collection, so a test can choose its
cases by it."""

import os

SERVERS = os.environ.get("TEST_SERVERS", "embedded")
