/* vigil console: sign-in page. */
'use strict';

(function () {
  const form = document.getElementById('login-form');
  const err = document.getElementById('login-error');
  const button = document.getElementById('login-submit');

  function showError(text) {
    err.textContent = text;
    err.hidden = false;
  }

  form.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    err.hidden = true;
    button.disabled = true;
    try {
      const r = await fetch('/api/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          user: document.getElementById('login-user').value,
          password: document.getElementById('login-password').value,
        }),
      });
      if (r.ok) {
        window.location.replace('/');
        return;
      }
      let msg = 'Sign-in failed (' + r.status + ')';
      try {
        const body = await r.json();
        if (body && typeof body.error === 'string') msg = body.error;
      } catch (e) { /* not JSON */ }
      if (r.status === 401) msg = 'Wrong user name or password.';
      if (r.status === 429) msg = 'Too many attempts; wait a moment and try again.';
      showError(msg);
      document.getElementById('login-password').value = '';
    } catch (e) {
      showError('The console cannot be reached.');
    } finally {
      button.disabled = false;
    }
  });
})();
