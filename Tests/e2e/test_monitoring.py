"""The monitoring an operator is given (docs/monitoring/): a real Prometheus (Debian `prometheus`) scrapes a real Sabha
over HTTPS with the department's CA, loads the alert rules (which `promtool` accepts), and answers every query of the
Grafana dashboard with data; the certificate alert fires for a certificate that expires within two weeks."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.server import SabhaServer, free_tcp_port
from e2ekit.turn import CertificateAuthority
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "docs" / "monitoring" / "sabha-dashboard.json"
ALERTS = REPO / "docs" / "monitoring" / "sabha-alerts.yml"


@pytest.fixture
def prometheus_tools():
    for tool in ("prometheus", "promtool", "openssl", "certutil"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` is not installed (tools/setup.sh installs Debian prometheus, openssl, libnss3-tools)")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def query(base: str, expr: str) -> list:
    answer = requests.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]["result"]


def test_promtool_accepts_the_alert_rules(prometheus_tools):
    out = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "SUCCESS: 10 rules found" in out.stdout, out.stdout + out.stderr


@pytest.mark.timeout(120)
def test_prometheus_scrapes_sabha_and_every_dashboard_query_has_data(prometheus_tools, sabha_bin, tmp_path, request):
    ca = CertificateAuthority(tmp_path / "pki").make()   # its certificate is valid for 2 days
    server = SabhaServer(binary=sabha_bin, data_dir=tmp_path / "data", log_path=tmp_path / "sabha.log", scheme="https",
                         ca_file=ca.ca_cert, extra_args=["--tls-cert", str(ca.cert), "--tls-key", str(ca.key)])
    request.node._log_sources = getattr(request.node, "_log_sources", []) + [("sabha serve log", server.log_text)]
    server.start()
    port = free_tcp_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{ALERTS}"]
scrape_configs:
  - job_name: sabha
    scheme: https
    tls_config: {{ca_file: "{ca.ca_cert}"}}
    static_configs: [{{targets: ["127.0.0.1:{server.http_port}"]}}]
""")
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    sock = None
    try:
        wait_for(lambda: answers(f"{base}/-/ready") or prom.poll() is not None, 30, "Prometheus to be ready")
        assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
        key = (server.data_dir / "admin.key").read_text().strip()
        made = requests.post(server.base_url + "/api/rooms", json={"name": "watched", "title": "Watched"}, timeout=5,
                             verify=str(ca.ca_cert), headers={"Authorization": f"Bearer {key}"})
        assert made.status_code == 201, made.text
        sock = MeetingSocket(server.base_url, ca_file=str(ca.ca_cert))
        sock.join(server.token("watched", "asha", "participant"))
        wait_for(lambda: [r for r in query(base, 'up{job="sabha"}') if r["value"][1] == "1"], 30, "the scrape over HTTPS to succeed")
        wait_for(lambda: query(base, 'sabha_meeting_participants{job="sabha"} == 1'), 20, "the participant to show in Prometheus")
        time.sleep(3)  # enough samples for rate() over the dashboard's windows

        dashboard = json.loads(DASHBOARD.read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        assert len(exprs) >= 20, exprs
        for expr in exprs:
            concrete = expr.replace("$job", "sabha")
            if concrete.endswith(" > 0"):
                concrete = concrete[: -len(" > 0")]  # shows only what is non-zero; the series must exist all the same
            assert query(base, concrete), f"no data for the dashboard query {expr!r}"

        rules = requests.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"][0]["rules"]
        assert len(rules) == 10
        wait_for(lambda: all(r.get("health") == "ok" for r in requests.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"][0]["rules"]),
                 20, "every alert rule to be evaluated without error")
        firing = wait_for(lambda: [a for a in requests.get(f"{base}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
                                   if a["labels"]["alertname"] == "SabhaCertificateExpiresSoon" and a["state"] == "firing"],
                          20, "the certificate alert to fire for a 2-day certificate")
        assert firing
        others = [a["labels"]["alertname"] for a in requests.get(f"{base}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
                  if a["labels"]["alertname"] != "SabhaCertificateExpiresSoon"]
        assert not others, f"a quiet server raised {others}"
    finally:
        if sock:
            sock.close()
        prom.terminate()
        try:
            prom.wait(10)
        except subprocess.TimeoutExpired:
            prom.kill()
        log.close()
        server.stop()
