// The Two-factor authentication tab: enable (QR code, secret, pairing code, recovery codes),
// disable, and new recovery codes.

import { api, codeBody } from "./api.js";
import { $, el, setText, showError, submitting, pressing, copyText, download, openDialog, clearErrors } from "./ui.js";

let codes = [];

export function reset() {
  codes = [];
  hideSetup();
  $("#codes-list").replaceChildren();
  for (const part of ["#tfa-off", "#tfa-on"]) $(part).hidden = true;
  setText("#tfa-state", "");
  setText("#tfa-error", "");
}

function hideSetup() {
  $("#tfa-setup").hidden = true;
  $("#tfa-qr").removeAttribute("src");
  setText("#tfa-secret", "");
}

export async function show() {
  showError("#tfa-error", null);
  try {
    render(await api.twoFactor());
  } catch (error) {
    showError("#tfa-error", error);
  }
}

function render(status) {
  setText("#tfa-state", status.enabled ? "On" : "Off");
  $("#tfa-on").hidden = !status.enabled;
  $("#tfa-off").hidden = status.enabled || !$("#tfa-setup").hidden;
  if (status.enabled) {
    hideSetup();
    setText("#tfa-remaining", String(status.recovery_codes_remaining));
    for (const form of [$("#tfa-disable-form"), $("#tfa-regenerate-form")]) {
      form.reset();
      clearErrors(form);
    }
  }
}

// The SVG from the API is shown as an image from a data: URL: an <img> never runs its scripts.
function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

function formatSecret(secret) {
  return secret.replace(/(.{4})/g, "$1 ").trim();
}

async function startSetup(button) {
  await pressing(button, "#tfa-error", async () => {
    const setup = await api.twoFactorSetup();
    $("#tfa-qr").src = svgDataUrl(setup.qr_svg);
    setText("#tfa-secret", formatSecret(setup.secret));
    $("#tfa-secret").dataset.secret = setup.secret;
    const form = $("#tfa-pair-form");
    form.reset();
    clearErrors(form);
    $("#tfa-off").hidden = true;
    $("#tfa-setup").hidden = false;
    $("#tfa-pair-code").focus();
  });
}

function showCodes(list, title) {
  codes = list;
  setText("#codes-title", title);
  setText("#codes-status", "");
  $("#codes-list").replaceChildren(...list.map((code) => el("li", {}, el("code", {}, code))));
  openDialog($("#codes-dialog"), $("#codes-copy"), "#tfa-disable-code");
}

export function init() {
  $("#tfa-enable").addEventListener("click", (event) => startSetup(event.currentTarget));
  $("#tfa-setup-cancel").addEventListener("click", () => {
    hideSetup();
    $("#tfa-off").hidden = false;
    $("#tfa-enable").focus();
  });

  $("#tfa-pair-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(
      form,
      async () => {
        const reply = await api.twoFactorEnable(form.elements.code.value.replace(/\s+/g, ""));
        hideSetup();
        await show();
        showCodes(reply.recovery_codes, "Two-factor authentication is on: your recovery codes");
      },
      "code",
    );
  });

  $("#tfa-disable-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(
      form,
      async () => {
        await api.twoFactorDisable(codeBody(form.elements.code.value));
        form.reset();
        await show();
        $("#tfa-enable").focus();
      },
      "code",
    );
  });

  $("#tfa-regenerate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(
      form,
      async () => {
        const reply = await api.recoveryCodes(form.elements.code.value.replace(/\s+/g, ""));
        form.reset();
        await show();
        showCodes(reply.recovery_codes, "Your new recovery codes");
      },
      "code",
    );
  });

  $("#codes-copy").addEventListener("click", () => copyText(codes.join("\n"), "#codes-status"));
  $("#codes-download").addEventListener("click", () => {
    download("latchkey-recovery-codes.txt", `Latchkey recovery codes (each works once)\n\n${codes.join("\n")}\n`);
    setText("#codes-status", "Downloaded.");
  });
  $("#codes-close").addEventListener("click", () => $("#codes-dialog").close());
  $("#codes-dialog").addEventListener("close", () => {
    codes = [];
    $("#codes-list").replaceChildren();
  });
}
