// @azure/identity's ManagedIdentityCredential (MSAL Node underneath), pointed at the emulator
// the way the SDK documents for IMDS: AZURE_POD_IDENTITY_AUTHORITY_HOST is the IMDS base URL.
// Run by tests/node_identity.rs. Argument: a JSON list of cases, each {"name", "options",
// "scope"} ("options" as ManagedIdentityCredential takes them). Prints one JSON line: each
// case's token and expiry, or its error.
import { ManagedIdentityCredential } from "@azure/identity";

const cases = JSON.parse(process.argv[2] ?? "[]");
const results = {};
for (const { name, options, scope } of cases) {
  try {
    const credential = new ManagedIdentityCredential({
      ...options,
      // Fail fast rather than retry for minutes when the emulator refuses.
      retryOptions: { maxRetries: 0 },
    });
    const token = await credential.getToken(scope);
    results[name] = { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp };
  } catch (e) {
    results[name] = { error: `${e?.name}: ${e?.message}` };
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
