"""exchangelib's own POX and SOAP autodiscovery against Actas, with its URL
guessing pointed at a loopback base (steps 2-4 need DNS).

Usage: exchangelib_autodiscover.py BASE_URL USER PASSWORD TARGET EWS_URL
"""
import sys

from exchangelib import Account, Credentials, IMPERSONATION
from exchangelib.autodiscover import clear_cache
from exchangelib.autodiscover.discovery.pox import PoxAutodiscovery
from exchangelib.autodiscover.discovery.soap import SoapAutodiscovery

base, user, pw, target, ews_url = sys.argv[1:6]


class _Loopback:
    def _ensure_valid_hostname(self, url):
        pass

    def _step_1(self, hostname):
        ok, ad = self._attempt_response(url=f"{base}/{self.URL_PATH}")
        if ok:
            return self._step_5(ad=ad)
        return self._step_6()


class Pox(_Loopback, PoxAutodiscovery):
    pass


class Soap(_Loopback, SoapAutodiscovery):
    pass


for name, cls in (("pox", Pox), ("soap", Soap)):
    clear_cache()

    class A(Account):
        DEFAULT_DISCOVERY_CLS = cls

    a = A(primary_smtp_address=target, credentials=Credentials(user, pw), autodiscover=True, access_type=IMPERSONATION)
    got = a.protocol.service_endpoint
    assert got.lower() == ews_url.lower(), (name, got)
    assert a.primary_smtp_address.lower() == target.lower(), (name, a.primary_smtp_address)
    assert a.inbox.id
    print("OK", name, got, a.version.api_version, flush=True)
print("DONE")
