"""Decision-to-email latency: request N deployments over HTTP, each opening a
workflow whose approver is emailed; the delay from the server's answer to the
message's arrival at the SMTP sink. Usage: notify_latency.py URL TOKEN SINK_FILE N"""
import json, sys, time, http.client, urllib.parse
url, token, sink, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port)
def arrivals():
    out = {}
    try:
        for line in open(sink):
            r = json.loads(line)
            if "subject" in r:
                wf = r["subject"].rsplit(", ", 1)[-1]
                out.setdefault(wf, r["received_at"])
    except FileNotFoundError:
        pass
    return out
lat = []
for i in range(n):
    body = json.dumps({"agent_id": f"agt-lat-{i}-{int(time.time()*1000)}", "name": "Latency", "team": "People",
        "owner": "dana@example.com", "category": "customer_service", "data_classification": "internal",
        "has_external_tools": False, "risk_tier": "medium", "version": "1.0.0"})
    conn.request("POST", "/v1/deployments", body, {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse(); data = json.loads(r.read()); t0 = time.time()
    wf = data["workflow_ids"][0]
    while True:
        a = arrivals()
        if wf in a:
            lat.append(a[wf] - t0); break
        time.sleep(0.002)
lat.sort()
q = lambda p: lat[min(len(lat)-1, int(p*len(lat)))]
print(f"n={n} p50={q(0.5)*1000:.0f} ms p99={q(0.99)*1000:.0f} ms max={lat[-1]*1000:.0f} ms")
