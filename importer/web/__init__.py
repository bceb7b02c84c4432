"""The web page for data clerks: sign in, check a spreadsheet, import it, download the report.

``spp-import serve`` runs :func:`importer.web.app.serve`; tests build the
application with :func:`importer.web.app.create_app`.
"""
