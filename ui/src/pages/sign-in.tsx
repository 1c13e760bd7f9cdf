// Sign in: paste a token (`fluxo token create`, `fluxo token sign`, or dev.json under `fluxo dev`),
// or use one of the identity providers the proxy offers.
import { useEffect, useState, type FormEvent } from 'react';
import { completeSignIn, loadProviders, startSignIn, type OidcProvider } from '../oidc';
import { signIn, takeSignOutReason } from '../session';

export function SignInPage() {
  const [token, setToken] = useState('');
  const [providers, setProviders] = useState<OidcProvider[]>([]);
  const [message, setMessage] = useState<string | null>(() => takeSignOutReason());
  useEffect(() => {
    void loadProviders().then(setProviders);
    completeSignIn().catch((error: Error) => setMessage(error.message));
  }, []);
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, '');
    if (!value) {
      setMessage('Paste a token first.');
      return;
    }
    signIn(value);
  };
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to fluxo</h1>
      {message ? (
        <p className="error-box" role="alert">
          {message}
        </p>
      ) : null}
      {providers.length > 0 ? (
        <section aria-labelledby="idp-heading">
          <h2 id="idp-heading">With your organisation's account</h2>
          {providers.map((provider) => (
            <button key={provider.issuer} type="button" className="primary" onClick={() => startSignIn(provider).catch((error: Error) => setMessage(error.message))}>
              Sign in with {new URL(provider.issuer).host}
            </button>
          ))}
        </section>
      ) : null}
      <form onSubmit={submit}>
        <h2>With a bearer key</h2>
        <label htmlFor="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} aria-describedby="token-help" />
        <p id="token-help" className="muted">
          A bearer token: <code>fluxo token create</code>, or <code>adminToken</code> in <code>.fluxo-dev/dev.json</code> under <code>fluxo dev</code>. It stays in this tab's session storage.
        </p>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
