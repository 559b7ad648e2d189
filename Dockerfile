FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# Invoice PDFs embed this CJK TrueType font (settings.PDF_FONT_PATH).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml constraints.txt ./
COPY config ./config
COPY core ./core
COPY accounts ./accounts
COPY marketplace ./marketplace
COPY leasing ./leasing
COPY billing ./billing
COPY analytics ./analytics
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
# collectstatic needs settings, not secrets: a throwaway key for this one build step
RUN useradd --create-home app && DATABASE_URL=postgres://x@localhost/x SECRET_KEY=collectstatic-only \
    python manage.py collectstatic --noinput -v 0
ENV AIDC_ENV=production
USER app

EXPOSE 8000
CMD ["sh", "-c", "gunicorn config.wsgi:application --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-2} --worker-class gthread --threads ${WEB_THREADS:-4} --timeout 120 --access-logfile -"]
