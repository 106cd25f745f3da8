"""A stand-in OpenID Connect provider on loopback, for the single sign-on browser test.

Just enough of OIDC's authorization-code flow for ``st.login`` (Authlib) to
complete a real sign-in: discovery, an authorize endpoint that consents at once
and redirects back with a code, a token endpoint that checks the code, the
client's secret and (with PKCE) the verifier, and returns an RS256-signed ID
token carrying the claims the test chose, and the signing key as a JWKS. It
serves 127.0.0.1 only and stops with the test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


class StandInProvider:
    """A loopback OIDC provider; set :attr:`claims` before each sign-in.

    Parameters
    ----------
    client_id, client_secret : str
        The one client it knows.
    """

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.claims: dict[str, Any] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "stand-in", "use": "sig"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.issued: list[dict[str, Any]] = []  # the ID tokens' claims, for the test to read
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def start(self) -> StandInProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """The redirect back to the app with a fresh code (the user "consents" at once)."""
        if query.get("client_id") != self.client_id:
            raise ValueError("unknown client")
        code = secrets.token_urlsafe(16)
        self.codes[code] = dict(query)
        back = {"code": code, "state": query.get("state", "")}
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """Exchange a code for tokens, or raise ``ValueError``."""
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if (client_id, secret) != (self.client_id, self.client_secret):
            raise ValueError("invalid_client")
        asked = self.codes.pop(form.get("code", ""), None)
        if asked is None or asked.get("redirect_uri") != form.get("redirect_uri"):
            raise ValueError("invalid_grant")
        challenge = asked.get("code_challenge")
        if challenge:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                raise ValueError("invalid_grant")
        now = int(time.time())
        claims = {
            "iss": self.url, "aud": self.client_id, "iat": now, "exp": now + 300,
            "sub": str(self.claims.get("email", "someone")), **self.claims,
        }  # fmt: skip
        if asked.get("nonce"):
            claims["nonce"] = asked["nonce"]
        self.issued.append(claims)
        id_token = jwt.encode({"alg": "RS256", "kid": "stand-in"}, claims, self.key)
        return {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return None

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, provider.metadata())
                elif url.path == "/jwks":
                    self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    try:
                        location = provider.authorize(query)
                    except (ValueError, KeyError) as err:
                        self._json(400, {"error": str(err)})
                        return
                    self.send_response(302)
                    self.send_header("Location", location)
                    self.end_headers()
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                basic = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    basic = (user, password)
                try:
                    self._json(200, provider.token(form, basic))
                except ValueError as err:
                    self._json(400, {"error": str(err)})

        return Handler
