"""gunicorn's access log, without what students type and with their real address.

Search and tutor pages carry the student's words in the query string (and the
next request carries them in its Referer), so the log keeps paths only. The
address is the client by TRUSTED_PROXIES, the rule the throttles use. Loaded
by eduplatform/gunicorn_conf.py in gunicorn's own process, so nothing here imports Django.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from eduplatform.client_ip import TrustedProxies, client_ip


def without_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


class AccessLogger(Logger):
    trusted = TrustedProxies.parse(os.environ.get("TRUSTED_PROXIES", ""))

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["h"] = client_ip(
            environ.get("REMOTE_ADDR", "-"), environ.get("HTTP_X_FORWARDED_FOR"), self.trusted
        )
        atoms["r"] = "{} {} {}".format(
            environ["REQUEST_METHOD"],
            without_query(environ.get("RAW_URI") or environ.get("PATH_INFO", "")),
            environ["SERVER_PROTOCOL"],
        )
        atoms["q"] = "-"
        referer = atoms.get("f")
        if referer and referer != "-":
            atoms["f"] = without_query(referer)
        if "{referer}i" in atoms:
            atoms["{referer}i"] = without_query(atoms["{referer}i"])
        return atoms
