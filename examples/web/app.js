// The Roster account page: a frontend on its own origin.
//
// Sign-in goes through this page's own backend (POST /session, same origin), which holds the
// server-to-server API key and calls the Auth API's /auth/login: a browser never sees an API
// key. The page keeps only the access token (in sessionStorage) and calls the User API's
// /public/user/me routes and the Auth API's /auth/logout, /auth/me/export and /auth/me
// directly, cross-origin, with it as a Bearer token. Those calls work only from an origin on
// the APIs' CORS allow-list.
//
// Two-step sign-in: a user with an authenticator app gets a challenge instead of a token
// (its backend answers {mfaRequired, session}: the Auth API's /problems/mfa-required with a
// sealed session); the page asks for the app's code and sends both to POST /session/mfa. The
// "Enable two-factor sign-in" section calls the Auth API's /auth/mfa/totp routes with the
// access token; the key is shown once and never stored.
//
// Activation: the activation mail links here with the code in the fragment
// (#activate=<code>), which a browser never sends to a server. The page takes it out of the
// address bar and posts it to its own backend (POST /activation), which uses it with the key;
// the code can also be typed in, and a new one asked for (POST /activation/resend).
"use strict";

const AVATARS = ["01", "02", "03", "04", "05", "06"];
const TOKEN = "roster.accessToken";
let config;
// The pending challenge of a two-step sign-in (kept in memory only).
let challenge = null;

const $ = (id) => document.getElementById(id);

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// A problem+json answer as one line; a fetch that never got an answer (the browser refused
// the cross-origin call, or the API is down) as what that most likely means.
async function failure(response) {
  try {
    const problem = await response.json();
    return problem.detail ? `${problem.title}: ${problem.detail}` : problem.title;
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function call(url, options = {}) {
  const token = sessionStorage.getItem(TOKEN);
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body) headers["Content-Type"] = "application/json";
  try {
    return await fetch(url, { ...options, headers });
  } catch {
    throw new Error(`${new URL(url).origin} did not answer this page (${location.origin}): ` +
      "it is down, or this origin is not on its CORS allow-list");
  }
}

function render(user) {
  const profile = user.profile || {};
  const data = profile.profileData || {};
  $("name").textContent = user.name;
  $("handle").textContent = user.handle;
  $("email").textContent = user.email;
  $("status").textContent = user.status;
  $("avatar").src = data.avatarUrl || "";
  const badges = profile.badges || [];
  $("badges").replaceChildren(...badges.map((badge) => {
    const item = document.createElement("li");
    item.dataset.badge = badge.name;
    const icon = document.createElement("img");
    icon.src = badge.iconUrl;
    icon.alt = "";
    icon.width = icon.height = 24;
    item.append(icon, badge.name);
    return item;
  }));
  $("no-badges").hidden = badges.length > 0;
  const form = $("settings");
  form.lang.value = data.lang || "en_us";
  form.currency.value = data.currency || "USD";
  const current = (data.avatarUrl || "").match(/\/public\/avatars\/x\d+\/(0[1-6])\.png$/);
  for (const input of form.querySelectorAll("input[name=avatar]")) {
    input.checked = Boolean(current) && input.value === current[1];
  }
  $("sign-in").hidden = true;
  $("activation").hidden = true;
  $("account").hidden = false;
}

async function loadProfile() {
  const response = await call(`${config.userUrl}/public/user/me`);
  if (response.status === 401) return signedOut("Your session has ended; sign in again.");
  if (!response.ok) throw new Error(await failure(response));
  render(await response.json());
}

function signedOut(message = "") {
  sessionStorage.removeItem(TOKEN);
  challenge = null;
  $("account").hidden = true;
  $("sign-in-code").hidden = true;
  $("sign-in").hidden = false;
  $("activation").hidden = false;
  showError(message);
}

async function activate(code) {
  showError("");
  const response = await fetch("activation", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ activationCode: code }),
  });
  if (!response.ok) return showError(await failure(response));
  const answer = await response.json();
  $("activated").textContent = `${answer.email} is activated. Sign in to see your account.`;
  $("activated").hidden = false;
  $("activate").hidden = true;
  $("resend").hidden = true;
  $("sign-in").email.value = answer.email;
}

async function activateWithCode(event) {
  event.preventDefault();
  const form = event.target;
  const code = form.code.value.trim();
  form.code.value = "";
  await activate(code);
}

async function resendCode(event) {
  event.preventDefault();
  showError("");
  $("resent").hidden = true;
  const form = event.target;
  const response = await fetch("activation/resend", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: form.email.value }),
  });
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    return showError(`A new code was sent a moment ago; ask again in ${wait} seconds.`);
  }
  if (!response.ok) return showError(await failure(response));
  $("resent").hidden = false;
}

async function signedIn(session) {
  sessionStorage.setItem(TOKEN, session.accessToken);
  challenge = null;
  $("sign-in-code").hidden = true;
  await loadProfile();
}

async function signIn(event) {
  event.preventDefault();
  showError("");
  const form = event.target;
  const response = await fetch("session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: form.email.value, password: form.password.value }),
  });
  form.password.value = "";
  if (!response.ok) return showError(await failure(response));
  const answer = await response.json();
  if (answer.mfaRequired) {
    challenge = answer.session;
    $("sign-in").hidden = true;
    $("sign-in-code").hidden = false;
    $("sign-in-code").code.focus();
    return;
  }
  await signedIn(answer);
}

async function signInWithCode(event) {
  event.preventDefault();
  showError("");
  const form = event.target;
  const response = await fetch("session/mfa", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session: challenge, code: form.code.value }),
  });
  form.code.value = "";
  if (response.status === 401) {
    // Expired or spent: start again with the password.
    return signedOut(await failure(response));
  }
  if (!response.ok) return showError(await failure(response));
  await signedIn(await response.json());
}

async function startTwoFactor() {
  showError("");
  const response = await call(`${config.authUrl}/auth/mfa/totp`, { method: "POST" });
  if (!response.ok) return showError(await failure(response));
  const enrolment = await response.json();
  $("mfa-secret").textContent = enrolment.secret;
  $("mfa-uri").href = enrolment.otpauthUri;
  $("mfa-on").hidden = true;
  $("mfa-off").hidden = true;
  $("mfa-confirm").hidden = false;
}

async function confirmTwoFactor(event) {
  event.preventDefault();
  showError("");
  const form = event.target;
  const response = await call(`${config.authUrl}/auth/mfa/totp/confirm`, {
    method: "POST",
    body: JSON.stringify({ code: form.code.value }),
  });
  form.code.value = "";
  if (!response.ok) return showError(await failure(response));
  $("mfa-secret").textContent = "";
  $("mfa-uri").href = "#";
  form.hidden = true;
  $("mfa-on").hidden = false;
}

async function disableTwoFactor(event) {
  event.preventDefault();
  showError("");
  const form = event.target;
  const response = await call(`${config.authUrl}/auth/mfa/totp`, {
    method: "DELETE",
    body: JSON.stringify({ password: form.password.value }),
  });
  form.password.value = "";
  if (!response.ok) return showError(await failure(response));
  $("mfa-on").hidden = true;
  $("mfa-off").hidden = false;
}

async function save(event) {
  event.preventDefault();
  showError("");
  $("saved").hidden = true;
  const form = event.target;
  const change = { lang: form.lang.value, currency: form.currency.value };
  const avatar = form.querySelector("input[name=avatar]:checked");
  if (avatar) change.avatar = avatar.value;
  const response = await call(`${config.userUrl}/public/user/me/profile`, {
    method: "PATCH",
    body: JSON.stringify(change),
  });
  if (!response.ok) return showError(await failure(response));
  render(await response.json());
  $("saved").hidden = false;
}

async function signOut() {
  // Revokes every refresh token of the user, on every device.
  const response = await call(`${config.authUrl}/auth/logout`, { method: "POST" });
  if (!response.ok && response.status !== 401) return showError(await failure(response));
  signedOut();
}

// The data export: each API's part (the services never call each other), joined here into one
// JSON document the browser saves as a file.
async function exportData() {
  showError("");
  const [profile, identity] = await Promise.all([
    call(`${config.userUrl}/public/user/me/export`),
    call(`${config.authUrl}/auth/me/export`),
  ]);
  for (const response of [profile, identity]) {
    if (response.status === 401) return signedOut("Your session has ended; sign in again.");
    if (!response.ok) return showError(await failure(response));
  }
  const document_ = { profile: await profile.json(), identity: await identity.json() };
  const blob = new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "roster-data-export.json";
  link.click();
  URL.revokeObjectURL(link.href);
}

// Deletes the account with the current password proven again (the Auth API checks it).
async function deleteAccount(event) {
  event.preventDefault();
  showError("");
  const form = event.target;
  const response = await call(`${config.authUrl}/auth/me`, {
    method: "DELETE",
    body: JSON.stringify({ password: form.password.value }),
  });
  form.password.value = "";
  if (response.status === 403) return showError("That is not your current password.");
  if (!response.ok) return showError(await failure(response));
  signedOut("Your account is being deleted. Every session has ended.");
}

function guard(handler) {
  return (event) => handler(event).catch((error) => showError(error.message));
}

async function start() {
  config = await (await fetch("config.json")).json();
  const choices = AVATARS.map((number) => {
    const label = document.createElement("label");
    const image = document.createElement("img");
    image.src = `${config.assetsUrl}/public/avatars/x256/${number}.png`;
    image.alt = `Avatar ${number}`;
    image.width = image.height = 48;
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "avatar";
    input.value = number;
    label.append(image, input);
    return label;
  });
  $("avatars").append(...choices);
  $("sign-in").addEventListener("submit", guard(signIn));
  $("sign-in-code").addEventListener("submit", guard(signInWithCode));
  $("mfa-start").addEventListener("click", guard(startTwoFactor));
  $("mfa-confirm").addEventListener("submit", guard(confirmTwoFactor));
  $("mfa-disable").addEventListener("submit", guard(disableTwoFactor));
  $("settings").addEventListener("submit", guard(save));
  $("sign-out").addEventListener("click", guard(signOut));
  $("export").addEventListener("click", guard(exportData));
  $("delete-account").addEventListener("submit", guard(deleteAccount));
  $("activate").addEventListener("submit", guard(activateWithCode));
  $("resend").addEventListener("submit", guard(resendCode));
  if (sessionStorage.getItem(TOKEN)) await loadProfile();
  else signedOut();
  // The activation mail's link: the code is in the fragment. Out of the address bar (and
  // the history) first, then used.
  const code = new URLSearchParams(location.hash.slice(1)).get("activate");
  if (code) {
    history.replaceState(null, "", location.pathname + location.search);
    await activate(code);
  }
}

start().catch((error) => showError(error.message));
