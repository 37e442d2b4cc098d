-- SPDX-License-Identifier: Apache-2.0
-- Mixed load for scripts/soak: 80% reads (GET of a known item, list of 5), 20% creates.
-- Counts 5xx answers per thread and reports their sum.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    item_id = args[1]
    n = 0
    errors5xx = 0
end

function request()
    n = n + 1
    local k = n % 10
    if k < 2 then
        return wrk.format("POST", "/items/", {["Content-Type"] = "application/json"},
                          '{"name":"soak","n":' .. n .. '}')
    elseif k < 4 then
        return wrk.format("GET", "/items/?limit=5")
    end
    return wrk.format("GET", "/items/" .. item_id)
end

function response(status, headers, body)
    if status >= 500 then
        errors5xx = errors5xx + 1
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do
        total = total + t:get("errors5xx")
    end
    io.write(string.format("soak: requests %d, 5xx %d, socket errors %d, p99 %.2f ms\n",
                           summary.requests, total,
                           summary.errors.connect + summary.errors.read + summary.errors.write
                           + summary.errors.timeout, latency:percentile(99) / 1000))
end
