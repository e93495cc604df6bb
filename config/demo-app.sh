#!/bin/sh
# A stand-in application for `make run`: writes the mix of log styles real services produce
# (JSON, logfmt, plain text, a stack trace on stderr) to stdout/stderr, then exits 0.
echo '{"time":"2024-05-01T12:00:00.125Z","level":"info","msg":"service starting","version":"1.4.2","port":8080}'
echo 'ts=2024-05-01T12:00:00.250Z level=debug msg="connected to database" db=orders pool_size=10'
echo 'Listening on :8080'
echo '{"time":"2024-05-01T12:00:01.5+02:00","level":"warn","msg":"slow request","path":"/api/orders","duration_ms":1375}'
echo 'level=error msg="payment provider timeout" provider=acme retry=3 err="context deadline exceeded"' >&2
echo '{"@timestamp":"1714564802123","level":"ERROR","msg":"order failed","order":{"id":42,"items":["book","pen"]}}'
echo 'java.lang.IllegalStateException: inventory mismatch' >&2
echo '    at com.example.Inventory.reserve(Inventory.java:88)' >&2
echo '{"time":1714564803,"level":"info","msg":"shutting down","uptime_s":3}'
exit 0
