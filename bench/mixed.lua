-- SPDX-License-Identifier: Apache-2.0
--
-- Mixed 80/20: on each connection's thread, four GETs by id then one POST
-- create, in a fixed order (exactly 80 % reads). Both requests are formatted
-- once in init(); request() only picks one of the two strings.
--   BENCH_ITEM_ID     the id to read (default bench-0001, which the stub answers)
--   BENCH_COLLECTION  the collection's path (default /items/)

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local id = os.getenv("BENCH_ITEM_ID") or "bench-0001"
local collection = os.getenv("BENCH_COLLECTION") or "/items/"
local body = '{"name":"Benchmark item","description":"Created by bench/run through wrk"}'
local get_request, post_request
local n = 0

function init(args)
   get_request = wrk.format("GET", collection .. id)
   post_request = wrk.format("POST", collection,
                             { ["Host"] = wrk.headers["Host"],
                               ["Content-Type"] = "application/json" }, body)
end

function request()
   n = n + 1
   if n % 5 == 0 then
      return post_request
   end
   return get_request
end
