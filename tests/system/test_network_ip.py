"""System > Network's IP settings without NetworkManager: each bad value refused per
field, every profile doorctl writes accepted by NetworkManager's own `nmcli --offline`,
and the addresses in use shown read-only where NetworkManager does not run."""

from __future__ import annotations

import json
import subprocess

import pytest
from support import missing, require

from doorctl.core.system.network.ip_form import IpSettings, profile

API = "/api/v1/network"
STATIC = {"ipv4_automatic": False, "ip_address": "192.168.1.90", "subnet_mask": "255.255.255.0"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**STATIC, "ip_address": "192.168.1.0"}, "ip_address", "192.168.1.1 - 192.168.1.254"),
        ({**STATIC, "ip_address": "192.168.1.255"}, "ip_address", "network or broadcast"),
        ({**STATIC, "ip_address": "192.168.1.300"}, "ip_address", "not an IPv4 address"),
        ({**STATIC, "ip_address": ""}, "ip_address", "Enter the IP address"),
        ({**STATIC, "router": "192.168.2.1"}, "router", "outside the subnet 192.168.1.0/24"),
        ({**STATIC, "router": "192.168.1.90"}, "router", "own address"),
        ({**STATIC, "subnet_mask": "255.0.255.0"}, "subnet_mask", "not a subnet mask"),
        ({**STATIC, "subnet_mask": "33"}, "subnet_mask", "not a subnet mask"),
        ({"hostname_automatic": False, "hostname": "door_1"}, "hostname", "A-Z, a-z, 0-9 and -"),
        ({"hostname_automatic": False, "hostname": "d" * 64}, "hostname", "at most 63"),
        ({"hostname_automatic": False, "hostname": ""}, "hostname", "Enter the hostname"),
        ({"dns_automatic": False, "dns_servers": ["dns.example"]}, "dns_servers", "not an IP"),
        ({"dns_automatic": False, "dns_servers": []}, "dns_servers", "Add a DNS server"),
        ({"search_domains": ["my domain.example"]}, "search_domains", "has a space"),
        (
            {"ipv6_automatic": False, "dns_automatic": False, "dns_servers": ["2001:db8::53"]},
            "dns_servers",
            "turn IPv6 on",
        ),
        ({"ipv6_automatic": "yes"}, "ipv6_automatic", "true or false"),
    ],
)
def test_each_bad_value_is_refused_with_its_field_error_and_nothing_changes(
    admin_api, body, field, words
):
    before = admin_api.get(API).get_json()
    answer = admin_api.put(API, json=body)
    assert answer.status_code == 400
    assert words in answer.get_json()["fields"][field]
    assert admin_api.get(API).get_json() == before


def test_every_bad_field_is_told_at_once(admin_api):
    body = {**STATIC, "ip_address": "10.0.0.255", "subnet_mask": "24", "router": "10.1.0.1"}
    body |= {"hostname_automatic": False, "hostname": "door_1", "dns_automatic": False}
    body |= {"dns_servers": ["nope"], "search_domains": ["a b"]}
    fields = admin_api.put(API, json=body).get_json()["fields"]
    assert set(fields) == {"ip_address", "router", "hostname", "dns_servers", "search_domains"}


RECORDS = {
    "dhcp": {},
    "static with router": {**STATIC, "router": "192.168.1.1"},
    "static, prefix length": {**STATIC, "subnet_mask": "/16", "ip_address": "172.16.4.9"},
    "manual hostname, no IPv6": {
        "ipv6_automatic": False,
        "hostname_automatic": False,
        "hostname": "door-42",
    },
    "manual DNS": {
        "dns_automatic": False,
        "dns_servers": ["192.168.1.53", "2001:db8::53"],
        "search_domains": ["site.example", "example.com"],
    },
}


@pytest.mark.parametrize("changes", RECORDS.values(), ids=RECORDS.keys())
def test_every_profile_doorctl_writes_is_one_networkmanager_accepts(changes):
    """nmcli --offline builds the keyfile from the same properties doorctl sets."""
    nmcli = require("nmcli", "nmcli (network-manager)")
    form = IpSettings(data={**IpSettings().data, **changes})
    assert form.validate(), form.errors
    record = form.data
    command = [nmcli, "--offline", "connection", "add", "type", "ethernet"]
    command += ["con-name", "doorctl", "ifname", "eth0", *profile(record)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    keyfile = done.stdout
    if record["ipv4_automatic"]:
        assert "method=auto" in keyfile.split("[ipv6]")[0]
    else:
        router = f",{record['router']}" if record["router"] else ""
        assert f"address1={profile(record)[3]}{router}\n" in keyfile
    if not record["ipv6_automatic"]:
        assert "method=disabled" in keyfile.split("[ipv6]")[1]
    if not record["hostname_automatic"]:
        assert f"dhcp-hostname={record['hostname']}\n" in keyfile
    if not record["dns_automatic"]:
        assert "dns=192.168.1.53;\n" in keyfile and "dns=2001:db8::53;\n" in keyfile
        assert "dns-search=site.example;example.com;\n" in keyfile
        assert "ignore-auto-dns=true" in keyfile


def kernel_first_address() -> str:
    """An address the kernel has on an interface other than lo."""
    links = json.loads(subprocess.run(["ip", "-j", "addr"], capture_output=True).stdout)
    for link in links:
        if link["ifname"] != "lo" and link.get("addr_info"):
            return link["addr_info"][0]["local"]
    missing("no interface but lo has an address here")


def test_without_networkmanager_the_page_shows_the_addresses_read_only(logged_in, doorctl):
    require("ip", "iproute2")
    page = logged_in.get("/network").get_data(as_text=True)
    assert 'id="ip-read-only"' in page
    assert "NetworkManager does not run on this machine" in page
    assert kernel_first_address() in page
    assert 'id="ip-form"' not in page
    assert 'id="http-https"' in page  # the other cards stay


def test_without_networkmanager_a_change_is_refused_and_nothing_is_stored(admin_api):
    before = admin_api.get(API).get_json()
    answer = admin_api.put(API, json={**STATIC, "router": "192.168.1.1"})
    assert answer.status_code == 409
    assert "NetworkManager does not run" in answer.get_json()["error"]
    assert admin_api.get(API).get_json() == before
    state = admin_api.get(API + "/state").get_json()
    assert state["read_only"] and state["pending"] is None
    assert any(i["addresses"] for i in state["current"]["interfaces"])
