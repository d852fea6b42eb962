// Signing up and signing in: a username and a password, and the token kept in this browser.

import { api, call, keepSession } from "../api";
import { h, show } from "../dom";

export function authView(main: HTMLElement, signedIn: () => void): () => void {
  const form = (mode: "in" | "up"): HTMLFormElement => {
    const id = `sign-${mode}`;
    const username = h("input", { id: `${id}-username`, name: "username", required: true, autocomplete: "username", autocapitalize: "none", spellcheck: "false", minlength: 3, maxlength: 30 });
    const password = h("input", { id: `${id}-password`, name: "password", type: "password", required: true, minlength: 8, autocomplete: mode === "in" ? "current-password" : "new-password" });
    const error = h("p", { class: "error", role: "alert" });
    const element = h(
      "form",
      { class: "auth", "aria-labelledby": `${id}-title` },
      h("h2", { id: `${id}-title` }, mode === "in" ? "Sign in" : "Create an account"),
      h("label", { for: `${id}-username` }, "Username"),
      username,
      h("label", { for: `${id}-password` }, "Password"),
      password,
      h("button", { type: "submit" }, mode === "in" ? "Sign in" : "Sign up"),
      error,
    );
    element.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const name = username.value.trim().toLowerCase();
      try {
        const label = `Web (${navigator.platform || "browser"})`;
        const token =
          mode === "in"
            ? (await call(api.POST("/v1/sessions", { body: { username: name, password: password.value, label } }))).token
            : (await call(api.POST("/v1/users", { body: { username: name, password: password.value, sessionLabel: label } }))).token;
        keepSession({ token: token ?? "", userId: "", username: name });
        const me = await call(api.GET("/v1/users:lookup", { params: { query: { username: name } } }));
        keepSession({ token: token ?? "", userId: me.user?.id ?? "", username: name });
        signedIn();
      } catch (failure) {
        error.textContent = (failure as Error).message;
      }
    });
    return element;
  };
  show(main, h("h1", {}, "Photoshare"), h("p", {}, "Share photos with the people who follow you."), h("div", { class: "auth-forms" }, form("in"), form("up")));
  (main.querySelector("input") as HTMLInputElement | null)?.focus();
  return () => undefined;
}
