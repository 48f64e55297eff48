"""The stand-in for GitHub (fake_github.py) and the servers it serves: the servers under test are
ThingsDB's releases, not one byte of source changed; the stand-in answers for api.github.com
over TLS under its throwaway CA, and every other host is tunnelled untouched."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import subprocess
import threading
import urllib.error
import urllib.request

import pytest
import test_thingsdb
import thingsdb_server
import trustme
from fake_github import API_HOST, FakeGitHub, certificate_authority, commit_all, git
from thingsdb_server import (
    SYSTEM_CA_BUNDLE,
    Node,
    archive_tree_digest,
    isolated_command,
    require_server,
    source_archive,
    stand_in_ca_bundle,
)

# The two URL formats of src/ti/mod/github.c as released.
STOCK_URL_FORMATS = (
    b"https://api.github.com/repos/%s/%s/contents/%s",
    b"https://api.github.com/repos/%s/%s/git/blobs/%.*s",
)


# --- the servers under test ---


@pytest.mark.thingsdb
@pytest.mark.parametrize("version", thingsdb_server.versions())
def test_server_under_test_is_the_release_unmodified(version):
    build = require_server(version)
    archive = source_archive(version)
    assert build.archive_sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    # The tree that was compiled, checked after the build, is the archive's file for file.
    assert build.source_tree == archive_tree_digest(archive)
    binary = build.binary.read_bytes()
    assert all(url in binary for url in STOCK_URL_FORMATS)
    assert b"TI_TEST_GITHUB_API" not in binary  # what the suite's patched builds once read
    reported = subprocess.run(
        [str(build.binary), "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    assert f"ThingsDB Node {build.version}\n" in reported.stdout, reported.stdout
    if version[0].isdigit():  # a release named by its version (not a THINGSDB_SOURCE)
        assert build.version == version


# --- the stand-in on its own ---


def api_opener(github: FakeGitHub, trust: ssl.SSLContext) -> urllib.request.OpenerDirector:
    """urllib with the stand-in as its HTTPS proxy, as libcurl uses it (CONNECT)."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({"https": github.api}),
        urllib.request.HTTPSHandler(context=trust),
    )


def test_api_github_com_is_answered_over_tls_under_the_throwaway_ca(tmp_path):
    repository = tmp_path / "module-demo"
    repository.mkdir()
    (repository / "module.json").write_text('{"main": "main.py"}\n', encoding="utf-8")
    commit_all(repository, "A module")
    git(repository, "tag", "v0.1.0")
    url = f"https://{API_HOST}/repos/owner/module-demo/contents/module.json?ref=v0.1.0"
    trusting = ssl.create_default_context()
    certificate_authority().configure_trust(trusting)

    with FakeGitHub() as github:
        github.serve("owner", "module-demo", repository)
        request = urllib.request.Request(url, headers={"Accept": "application/vnd.github.v3.raw"})
        with api_opener(github, trusting).open(request, timeout=30) as response:
            assert response.read() == b'{"main": "main.py"}\n'
        # JSON with base64 content, as GitHub answers without the raw media type.
        with api_opener(github, trusting).open(url, timeout=30) as response:
            assert json.loads(response.read())["encoding"] == "base64"
        # Nothing else trusts its CA: without it the certificate is refused.
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            api_opener(github, ssl.create_default_context()).open(url, timeout=30)

        recorded = github.requests_for("owner", "module-demo")
        assert [(r.status, r.secure, r.query) for r in recorded] == [
            (200, True, {"ref": ["v0.1.0"]})
        ] * 2
        assert github.tunnels == []


def test_other_hosts_are_tunnelled_untouched():
    """A TLS server elsewhere (its own CA, its own certificate) is reached through the stand-in
    byte for byte: the client checks that server's certificate, not one from the stand-in."""
    elsewhere_ca = trustme.CA()
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    elsewhere_ca.issue_cert("127.0.0.1").configure_cert(server_side)
    payload = os.urandom(1 << 20)

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def echo_once() -> None:
            connection, _ = listener.accept()
            with server_side.wrap_socket(connection, server_side=True) as tls:
                received = b""
                while len(received) < len(payload):
                    chunk = tls.recv(1 << 16)
                    if not chunk:
                        break
                    received += chunk
                tls.sendall(hashlib.sha256(received).digest() + received[:1024])

        echo = threading.Thread(target=echo_once, daemon=True)
        echo.start()
        with FakeGitHub() as github:
            proxy_port = int(github.api.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", proxy_port), timeout=30) as sock:
                sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                reply = b""
                while not reply.endswith(b"\r\n\r\n"):
                    reply += sock.recv(1)
                assert reply.startswith(b"HTTP/1.1 200 "), reply
                client_side = ssl.create_default_context()
                elsewhere_ca.configure_trust(client_side)
                with client_side.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                    tls.sendall(payload)
                    answer = b""
                    while len(answer) < 32 + 1024:
                        chunk = tls.recv(1 << 16)
                        if not chunk:
                            break
                        answer += chunk
            assert answer == hashlib.sha256(payload).digest() + payload[:1024]
            assert github.tunnels == [f"127.0.0.1:{port}"]
            assert github.requests == []
        echo.join(10)


def test_unreachable_host_is_a_bad_gateway():
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with (
        FakeGitHub() as github,
        socket.create_connection(
            ("127.0.0.1", int(github.api.rsplit(":", 1)[1])), timeout=30
        ) as sock,
    ):
        sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(64).startswith(b"HTTP/1.1 502 ")


@pytest.mark.thingsdb
def test_trust_bundle_is_seen_by_the_server_only():
    """In the server's namespace the system bundle is the system's plus the CA; outside, the
    system's file is as it was."""
    problem = thingsdb_server.isolation_problem()
    if problem:
        pytest.skip(problem)
    before = hashlib.sha256(open(SYSTEM_CA_BUNDLE, "rb").read()).hexdigest()  # noqa: SIM115
    seen = subprocess.run(
        isolated_command(["cat", SYSTEM_CA_BUNDLE], stand_in_ca_bundle()),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    assert seen == stand_in_ca_bundle().read_bytes()
    assert certificate_authority().cert_pem.bytes() in seen
    assert hashlib.sha256(open(SYSTEM_CA_BUNDLE, "rb").read()).hexdigest() == before  # noqa: SIM115


# --- the server through it ---


@pytest.mark.thingsdb
def test_server_installs_through_the_stand_in_and_its_pip_through_a_tunnel(
    bake, server_binary, github, tmp_path
):
    """A Python module from the stand-in: every download by the server over TLS as
    api.github.com, and the pip it runs for the requirements reaches the package index through
    a tunnel (the proxy setting is inherited)."""
    project = bake(language="python").path
    repo = "module-python-demo"
    test_thingsdb.publish(github, project, repo, "0.1.0")
    node = Node(
        binary=server_binary,
        home=tmp_path / "node",
        python_interpreter=test_thingsdb.fresh_venv(tmp_path / "venv"),
        github_api=github.api,
        # pip's HTTP cache could answer the index pages without going out: none here.
        extra_env={"PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    node.start()
    try:
        client = node.client()
        test_thingsdb.install(client, node, f"github.com/{test_thingsdb.OWNER}/{repo}@v0.1.0")
        assert client.query("demo.echo('hi').then(|reply| reply);") == "hi"
    finally:
        status = node.stop()
    assert status == 0 and node.survivors == []

    recorded = github.requests_for(test_thingsdb.OWNER, repo)
    assert recorded and all(r.secure and r.status == 200 for r in recorded)
    assert "successfully installed Python requirements for module `demo` (0)" in node.log()
    assert github.tunnels, "pip reached no package index through the stand-in"
    assert not [t for t in github.tunnels if t.startswith(API_HOST)]
