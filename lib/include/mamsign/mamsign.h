// The whole public library in one include, for programs built against the installed package:
// #include <mamsign/mamsign.h>. Each area (docs/architecture.md) is also usable by its own headers.
#pragma once

// base
#include "mamsign/base/atomic_file.h"
#include "mamsign/base/error.h"
#include "mamsign/base/io.h"
#include "mamsign/base/ossl.h"
#include "mamsign/base/pem.h"
#include "mamsign/base/secret.h"
#include "mamsign/base/text.h"
#include "mamsign/base/times.h"

// smki
#include "mamsign/smki/certificate_id.h"
#include "mamsign/smki/csv.h"
#include "mamsign/smki/eui64.h"
#include "mamsign/smki/file_name.h"
#include "mamsign/smki/mpxn.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/smki/profile.h"
#include "mamsign/smki/registration.h"

// pki
#include "mamsign/pki/cert_builder.h"
#include "mamsign/pki/cert_store.h"
#include "mamsign/pki/csr.h"
#include "mamsign/pki/trust_store.h"

// keys
#include "mamsign/keys/key_source.h"
#include "mamsign/keys/pkcs11_token.h"
#include "mamsign/keys/pkcs11_uri.h"

// signature
#include "mamsign/signature/cms_signature.h"
#include "mamsign/signature/digest.h"
#include "mamsign/signature/raw_signature.h"
#include "mamsign/signature/signature_format.h"
#include "mamsign/timestamp/timestamp_token.h"
#include "mamsign/timestamp/tsa_client.h"

// the operations apps call
#include "mamsign/batch.h"
#include "mamsign/certid_check.h"
#include "mamsign/signer.h"
#include "mamsign/verifier.h"

// intake: the watched inbox and its ledger, above the operations
#include "mamsign/intake/intake.h"
#include "mamsign/intake/ledger.h"
