-- SPDX-License-Identifier: Apache-2.0
--
-- POST create: every request creates an item (wrk -s post.lua http://HOST:PORT/items/).
-- The request is the same each time, so wrk prebuilds it: no Lua per request.
-- The module draws a new random id for each, so nothing is ever overwritten.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

wrk.method = "POST"
wrk.body = '{"name":"Benchmark item","description":"Created by bench/run through wrk"}'
wrk.headers["Content-Type"] = "application/json"
