#!/usr/bin/python3
# The Python loop issue 12 measures against: pyca's PKCS7SignatureBuilder (Debian's python3-cryptography)
# making a detached DER CMS signature of each file in a folder, written to a temporary and renamed.
# Usage: pyca_sign.py KEY.pem CERT.pem DIR. Prints the count of files.
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

key_path, cert_path, folder = sys.argv[1:4]
with open(key_path, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), password=None)
with open(cert_path, "rb") as f:
    cert = x509.load_pem_x509_certificate(f.read())
options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
count = 0
for name in sorted(os.listdir(folder)):
    if name.startswith(".") or name.endswith(".p7s") or name.endswith(".sig"):
        continue
    path = os.path.join(folder, name)
    with open(path, "rb") as f:
        data = f.read()
    signature = (pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
                 .sign(serialization.Encoding.DER, options))
    tmp = os.path.join(folder, "." + name + ".p7s.tmp")
    with open(tmp, "wb") as f:
        f.write(signature)
    os.rename(tmp, path + ".p7s")
    count += 1
print(count)
