from celery import shared_task

from accounts.services import tokens_purge_expired


@shared_task(name="accounts.purge_expired_tokens")
def purge_expired_tokens() -> int:
    return tokens_purge_expired()
