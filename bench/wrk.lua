-- wrk script for the order-service benchmark (bench/run.py drives it; see bench/README.md).
--
--   wrk -s bench/wrk.lua URL -- SCENARIO DATA_FILE PRODUCTS ID_WIDTH THREADS
--
-- SCENARIO: place_uniform | place_hot | mixed | floor.
-- DATA_FILE: tab-separated lines written by the runner:
--   U <token>                                  a user (index = line order among the U lines)
--   E <user index> <order_id> <p1,p2,...>      an order the mixed scenario edits (never cancels)
--   C <user index> <order_id>                  an order the mixed scenario cancels (once): thread
--                                              t takes the lines i with i % THREADS == t, in order,
--                                              and reports how many it sent (cancel_sent); the
--                                              runner leaves those out of the next run's file
-- Every request this script sends expects 200; anything else is counted as an error, and the
-- first bodies of errors are kept as samples. At the end one line "BENCH_JSON {...}" goes to
-- stdout with the counts and the latency percentiles (microseconds).

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_index", thread_count - 1)
   table.insert(threads, thread)
end

-- per-thread state ------------------------------------------------------------------------------

local scenario, products, id_width, wrk_threads
local tokens, edit_pool, cancel_pool = {}, {}, {}
local cancel_next, cancel_last = 1, 0
local product_format
counts = {}      -- status -> count, kind -> count; read by done() through thread:get
samples = {}     -- first error bodies
cancel_sent = 0  -- how far this thread got in its slice of the cancel pool (sent, maybe unanswered)

local function split(line, sep)
   local out = {}
   for field in string.gmatch(line, "([^" .. sep .. "]+)") do
      table.insert(out, field)
   end
   return out
end

function init(args)
   scenario = args[1]
   local data_file = args[2]
   products = tonumber(args[3])
   id_width = tonumber(args[4])
   wrk_threads = tonumber(args[5])
   product_format = "SKU-%0" .. id_width .. "d"
   math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919)
   for _ = 1, 10 do math.random() end

   local cancels = {}
   for line in io.lines(data_file) do
      local f = split(line, "\t")
      if f[1] == "U" then
         table.insert(tokens, "Token " .. f[2])
      elseif f[1] == "E" then
         table.insert(edit_pool, {user = tonumber(f[2]) + 1, id = f[3], lines = split(f[4], ",")})
      elseif f[1] == "C" then
         table.insert(cancels, {user = tonumber(f[2]) + 1, id = f[3]})
      end
   end
   -- Each thread cancels its own slice of the pool, so no order is cancelled twice.
   for i, order in ipairs(cancels) do
      if (i - 1) % wrk_threads == thread_index then
         table.insert(cancel_pool, order)
      end
   end
   cancel_last = #cancel_pool
   if #tokens == 0 then
      error("no users in " .. data_file)
   end
end

-- request builders ------------------------------------------------------------------------------

local function product(i)
   return string.format(product_format, i)
end

local function random_user()
   return tokens[math.random(#tokens)]
end

local function json_headers(token)
   return {["Authorization"] = token, ["Content-Type"] = "application/json"}
end

-- Three distinct products: uniform over all, or the hot product (index 0) and two others.
local function three_products(hot)
   local a, b, c
   if hot then
      a = 0
      b = math.random(1, products - 1)
      repeat c = math.random(1, products - 1) until c ~= b
   else
      a = math.random(0, products - 1)
      repeat b = math.random(0, products - 1) until b ~= a
      repeat c = math.random(0, products - 1) until c ~= a and c ~= b
   end
   return a, b, c
end

local function place(hot)
   local a, b, c = three_products(hot)
   local body = string.format(
      '{"products":[{"product_id":"%s","item_count":%d},{"product_id":"%s","item_count":%d},'
         .. '{"product_id":"%s","item_count":%d}]}',
      product(a), math.random(1, 3), product(b), math.random(1, 3), product(c), math.random(1, 3))
   return wrk.format("POST", "/orders", json_headers(random_user()), body)
end

local function floor()
   local path = "/products/" .. product(math.random(0, products - 1))
   return wrk.format("GET", path, {["Authorization"] = random_user()})
end

local function read_order()
   local order = edit_pool[math.random(#edit_pool)]
   return wrk.format("GET", "/orders/" .. order.id, {["Authorization"] = tokens[order.user]})
end

local function list_orders()
   return wrk.format("GET", "/orders?limit=20", {["Authorization"] = random_user()})
end

-- Set one of the order's original lines to 1..5 units and, one time in two, add or resize a
-- random product: never empties the order, never asks more than the ample stock.
local function edit_order()
   local order = edit_pool[math.random(#edit_pool)]
   local lines = string.format('{"product_id":"%s","item_count":%d}',
      order.lines[math.random(#order.lines)], math.random(1, 5))
   if math.random(2) == 1 then
      local extra = product(math.random(0, products - 1))
      local present = false
      for _, pid in ipairs(order.lines) do
         if pid == extra then present = true end
      end
      if not present then
         lines = lines .. string.format(',{"product_id":"%s","item_count":%d}', extra,
            math.random(1, 3))
      end
   end
   return wrk.format("PATCH", "/orders/" .. order.id, json_headers(tokens[order.user]),
      '{"products":[' .. lines .. ']}')
end

local function cancel_order()
   if cancel_next > cancel_last then
      counts["cancel_pool_exhausted"] = (counts["cancel_pool_exhausted"] or 0) + 1
      return read_order()
   end
   local order = cancel_pool[cancel_next]
   cancel_next = cancel_next + 1
   cancel_sent = cancel_sent + 1
   return wrk.format("DELETE", "/orders/" .. order.id, {["Authorization"] = tokens[order.user]})
end

-- The mixed workload, per 100 requests: 30 order reads, 10 order lists, 10 product reads,
-- 30 places, 12 edits, 8 cancels.
local function mixed()
   local r = math.random(100)
   if r <= 30 then return read_order()
   elseif r <= 40 then return list_orders()
   elseif r <= 50 then return floor()
   elseif r <= 80 then return place(false)
   elseif r <= 92 then return edit_order()
   else return cancel_order()
   end
end

function request()
   if scenario == "place_uniform" then return place(false)
   elseif scenario == "place_hot" then return place(true)
   elseif scenario == "floor" then return floor()
   elseif scenario == "mixed" then return mixed()
   end
   error("unknown scenario " .. tostring(scenario))
end

-- responses -------------------------------------------------------------------------------------

local function bump(key)
   counts[key] = (counts[key] or 0) + 1
end

function response(status, headers, body)
   bump("status_" .. status)
   if status == 200 then
      if string.find(body, "Order placed", 1, true) then bump("placed")
      elseif string.find(body, "successfully updated", 1, true) then bump("edited")
      elseif string.find(body, "successfully cancelled", 1, true) then bump("cancelled")
      else bump("read")
      end
   elseif #samples < 5 then
      table.insert(samples, tostring(status) .. " " .. string.sub(body or "", 1, 300))
   end
end

-- summary ---------------------------------------------------------------------------------------

local function json_string(s)
   s = string.gsub(s, '[%c"\\]', function(ch)
      return string.format("\\u%04x", string.byte(ch))
   end)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local total, all_samples, sent = {}, {}, {}
   for _, thread in ipairs(threads) do
      table.insert(sent, string.format("%d", thread:get("cancel_sent") or 0))
      local c = thread:get("counts") or {}
      for key, n in pairs(c) do
         total[key] = (total[key] or 0) + n
      end
      for _, s in ipairs(thread:get("samples") or {}) do
         table.insert(all_samples, json_string(s))
      end
   end
   local parts = {}
   for key, n in pairs(total) do
      table.insert(parts, json_string(key) .. ":" .. string.format("%d", n))
   end
   local e = summary.errors
   local out = string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d},'
         .. '"counts":{%s},"samples":[%s],"cancel_sent":[%s]}',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(95), latency:percentile(99),
      table.concat(parts, ","), table.concat(all_samples, ","), table.concat(sent, ","))
   io.write("BENCH_JSON " .. out .. "\n")
end
