from __future__ import annotations

from django import forms

MAX_POLICY_BYTES = 64 * 1024


class PolicyDraftForm(forms.Form):
    """A draft policy: a TOML file, or its text pasted."""

    file = forms.FileField(label="Policy file (.toml)", required=False)
    policy = forms.CharField(
        label="Or paste the policy",
        required=False,
        max_length=MAX_POLICY_BYTES,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text='At least name = "..." and version = "..."; every other setting you leave out '
        "keeps its default.",
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None and str(cleaned.get("policy") or "").strip():
            self.add_error("policy", "Choose a file or paste the policy, not both.")
            return cleaned
        if upload is not None:
            if upload.size > MAX_POLICY_BYTES:
                self.add_error("file", "A policy file is a few kilobytes; this one is too large.")
                return cleaned
            try:
                cleaned["policy"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
                return cleaned
            self.data = self.data.copy()
            self.data["policy"] = cleaned["policy"]
        if not str(cleaned.get("policy") or "").strip():
            self.add_error("policy", "Choose a policy file or paste the policy.")
        return cleaned

    def policy_text(self) -> str:
        return str(self.cleaned_data["policy"])
