"""Login throttling that cannot be turned against users, and that fails closed.

Every login attempt is counted *before* its password is checked, in the same shared storage as
the API's rate limits (Flask-Limiter's storage: the state database, or Redis when configured),
with the ``limits`` library's fixed windows:

* per account and client address: :data:`PER_ACCOUNT_ADDRESS` attempts;
* per client address over all accounts: :data:`PER_ADDRESS` *failed* attempts (a town hall
  behind one address logs in many people; only its wrong passwords count);
* per account from devices it never logged in from: :data:`PER_ACCOUNT_NEW_DEVICES`. This is the
  slow-down against guessing from many addresses. A device that logged in to the account
  before carries a signed device cookie (OWASP's "device cookies") and is counted on its own
  (:data:`PER_DEVICE`) *instead of* the counters above, so an attacker, elsewhere or behind the
  same address, can never lock a mayor out of their own browser (its wrong passwords still
  count against its address).

A successful login clears the per-account counters it was charged to. When the storage cannot
be read or written, the attempt is refused (503) *without* checking the password: an unwritable
state database never becomes unlimited guessing with a yes/no answer.
"""
from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse
from limits.strategies import FixedWindowRateLimiter

PER_ACCOUNT_ADDRESS = parse("10 per 10 minutes")
PER_ADDRESS = parse("30 per 10 minutes")
PER_ACCOUNT_NEW_DEVICES = parse("20 per 10 minutes")
PER_DEVICE = parse("10 per 10 minutes")

DEVICE_COOKIE = "vb_device"
DEVICE_MAX_AGE = 365 * 24 * 3600

TOO_MANY = "Te veel inlogpogingen. Probeer het over enkele minuten opnieuw."
UNAVAILABLE = "Inloggen is op dit moment niet mogelijk. Probeer het later opnieuw."

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One login attempt: refused (with status and message) or allowed (with its charges)."""
    refused: bool = False
    status: int = 200
    message: str = ""
    retry_after: int = 0
    charges: list = field(default_factory=list)


class LoginThrottle:
    def __init__(self, storage, secret_key: str):
        self.limiter = FixedWindowRateLimiter(storage) if storage is not None else None
        self.devices = URLSafeSerializer(secret_key, salt="vb-device")

    def attempt(self, name: str, address: str | None, device_cookie: str | None) -> Attempt:
        """Charge this attempt to its counters; refused when one is spent or the storage fails."""
        account = (name or "").strip().lower()
        address = address or "-"
        device = self._device(device_cookie, account)
        if device:
            # A browser this account logged in from: counted on its own, never stopped by what
            # others at its address did (a colleague, or an attacker on the same network).
            charges = [(PER_DEVICE, "login-device", account, device)]
        else:
            charges = [(PER_ACCOUNT_ADDRESS, "login-account-address", account, address),
                       (PER_ACCOUNT_NEW_DEVICES, "login-account-new-devices", account)]
        if self.limiter is None:
            return Attempt(refused=True, status=503, message=UNAVAILABLE)
        failures = (PER_ADDRESS, "login-address-failed", address)
        try:
            spent = None
            if not device and not self.limiter.test(*failures):
                spent = failures
            for item, *keys in ([] if spent else charges):
                if not self.limiter.hit(item, *keys):
                    spent = (item, *keys)
                    break
            if spent:
                reset = self.limiter.get_window_stats(*spent).reset_time
                return Attempt(refused=True, status=429, message=TOO_MANY,
                               retry_after=max(1, int(reset - time.time())))
        except Exception:  # any storage failure: refuse, never guess unlimited
            log.exception("login throttle storage failed; refusing the attempt")
            return Attempt(refused=True, status=503, message=UNAVAILABLE)
        return Attempt(charges=[*charges, failures])

    def failed(self, attempt: Attempt) -> bool:
        """A wrong password: count it against the client address. False when that cannot be
        written (the caller then answers 503, not "wrong password")."""
        item, *keys = attempt.charges[-1]
        try:
            self.limiter.hit(item, *keys)
        except Exception:
            log.exception("could not count a failed login")
            return False
        return True

    def succeeded(self, attempt: Attempt) -> None:
        """A correct password: the counters this attempt was charged to start afresh."""
        for item, *keys in attempt.charges:
            if keys[0] == "login-address-failed":
                continue  # one good password does not reset a whole address
            try:
                self.limiter.clear(item, *keys)
            except Exception:
                log.exception("could not clear a login counter")

    def remember_device(self, response, user, *, secure: bool) -> None:
        """Mark this browser as one the account logged in from (signed; no personal data)."""
        value = self.devices.dumps({"a": user.name.strip().lower(), "n": secrets.token_hex(8)})
        response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True,
                            samesite="Lax", secure=secure, path="/login")

    def _device(self, cookie: str | None, account: str) -> str | None:
        """The device's nonce when its cookie is genuine and names this account."""
        if not cookie or len(cookie) > 300:
            return None
        try:
            data = self.devices.loads(cookie)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("a") != account:
            return None
        return str(data.get("n"))
