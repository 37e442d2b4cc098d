-- SPDX-License-Identifier: Apache-2.0
--
-- Shared by every bench/run scenario. Used alone (wrk -s report.lua URL) for
-- the static file, GET by id and the list: wrk then sends one prebuilt request
-- with no Lua per request. At the end it prints one line, "BENCH {json}", with
-- the counts and latency percentiles (microseconds) that bench/helper.py reads.

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), latency.max))
end
