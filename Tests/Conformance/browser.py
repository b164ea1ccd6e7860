#!/usr/bin/env python3
"""A stand-in for a person's browser, for `tokenbrokerd --browser-command`.

    browser.py AUTHORIZATION_URL

GETs the authorization URL without following redirects, then GETs the `Location` it
redirects to (the broker's loopback callback), as a browser does after an
authorization server that approves at once. Used by `report.py --daemon`; the Swift
tests use their in-process ManualBrowser instead. Prints nothing. Standard library only.
"""

import sys
import urllib.error
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main() -> int:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(sys.argv[1], timeout=30)
        return 1  # no redirect: nothing to follow
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location")
        if not location or error.code not in (301, 302, 303, 307, 308):
            return 1
    try:
        opener.open(location, timeout=60).read()
    except urllib.error.HTTPError:
        pass  # the callback reports a refused sign-in with an error status
    except OSError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
