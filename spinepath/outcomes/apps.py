from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "spinepath.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes and evidence"

    def ready(self) -> None:
        # "Patients like you": the review, the signed decision and the written plan ask.
        from spinepath.consultations.events import odds_asked
        from spinepath.outcomes.odds import answer_odds_asked

        odds_asked.connect(answer_odds_asked, dispatch_uid="outcomes-odds")
