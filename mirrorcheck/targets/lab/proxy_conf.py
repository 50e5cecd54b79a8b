"""The TLS proxy's nginx.conf: HTTPS for the mirror FQDN in front of plain HTTP.

It stands for the reference setup's Traefik: TLS 1.2 and 1.3 only, no body
size limit, no buffering (layers stream through), and port 80 redirecting to
https. ``plaintext=True`` makes the broken variant that serves the registry on
port 80 too (a negative control).

Usage::

    from mirrorcheck.targets.lab.proxy_conf import nginx_conf

    text = nginx_conf("mirror.test", backend="mirror:5000")
"""

from __future__ import annotations

CERT_DIR = "/etc/nginx/tls"

_LOCATION = """
        location / {{
            # Resolved per request through Docker's DNS: a restarted mirror gets a
            # new address, which Traefik would follow as well.
            resolver 127.0.0.11 valid=1s ipv6=off;
            set $mirror_backend "{backend}";
            proxy_pass http://$mirror_backend;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 900s;
            proxy_http_version 1.1;
        }}"""

_TEMPLATE = """\
worker_processes 1;
error_log stderr warn;
pid /run/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log /dev/stdout;
    client_max_body_size 0;
    chunked_transfer_encoding on;
    server {{
        listen 443 ssl;
        server_name {fqdn};
        ssl_certificate {cert_dir}/server.crt;
        ssl_certificate_key {cert_dir}/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
{location}
    }}
    server {{
        listen 80;
        server_name {fqdn};
{plain}
    }}
}}
"""


def nginx_conf(fqdn: str, backend: str, plaintext: bool = False) -> str:
    """The proxy's configuration; ``plaintext`` also serves the registry over HTTP."""
    location = _LOCATION.format(backend=backend)
    plain = location if plaintext else "        return 301 https://$host$request_uri;"
    return _TEMPLATE.format(fqdn=fqdn, cert_dir=CERT_DIR, location=location, plain=plain)
