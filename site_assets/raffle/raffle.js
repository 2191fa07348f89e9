// Calls the raffle API at the URL the page was rendered with, and shows what it says.
const Raffle = (() => {
  const api = document.querySelector('meta[name="api-url"]').content.replace(/\/+$/, "");
  const result = () => document.getElementById("result");

  async function call(method, path, body, headers) {
    try {
      const response = await fetch(api + path, {
        method,
        headers: {...(body ? {"content-type": "application/json"} : {}), ...(headers || {})},
        body: body ? JSON.stringify(body) : undefined,
      });
      let data = {};
      try { data = await response.json(); } catch (e) { data = {}; }
      return {ok: response.ok, status: response.status, body: data};
    } catch (e) {
      return {ok: false, status: 0, body: {error: "the raffle cannot be reached; try again"}};
    }
  }

  function show(text, ok) {
    const box = result();
    box.textContent = text;
    box.className = "result " + (ok ? "ok" : "bad");
  }

  // API Gateway's own refusals (an authorizer's 401/403) carry no "error" of ours.
  const REFUSED = {401: "the draw needs the organiser's token",
                   403: "that is not the organiser's token"};

  async function run(button, method, path, body, describe, headers) {
    button.disabled = true;
    const data = await call(method, path, body, headers);
    button.disabled = false;
    if (data.ok) show(describe(data.body), true);
    else show(data.body.error || REFUSED[data.status] || `the raffle answered ${data.status}`,
              false);
    return data;
  }

  return {call, show, run};
})();
