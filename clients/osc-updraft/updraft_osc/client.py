"""A small client for Updraft's accounting API (catalog type ``accounting``).

The catalog endpoint already ends in ``/accounting/v1``; every path below is
relative to it.
"""

from urllib import parse

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ksa_exc
from osc_lib import exceptions

SERVICE_TYPE = 'accounting'


def error_message(exc):
    """The server's message for a keystoneauth HttpError, or a fallback.

    Errors come in the Nova-like form ``{"badRequest": {"message": ...,
    "code": 400}}`` (any single top-level key); keystoneauth's own parser
    also understands ``{"error": {...}}`` and ``{"errors": [...]}``.
    """
    response = getattr(exc, 'response', None)
    status = getattr(exc, 'http_status', None) or getattr(
        response, 'status_code', None
    )
    message = None
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get('message'), str):
                message = body['message']
            else:
                for value in body.values():
                    if isinstance(value, dict) and value.get('message'):
                        message = str(value['message'])
                        break
                    if isinstance(value, list) and value:
                        first = value[0]
                        if isinstance(first, dict):
                            message = first.get('message') or first.get(
                                'title'
                            )
                            if message:
                                message = str(message)
                                break
        if not message:
            text = (getattr(response, 'text', '') or '').strip()
            if text and len(text) <= 500:
                message = text
    if not message:
        message = getattr(exc, 'message', None) or str(exc)
    if status:
        return '%s (HTTP %s)' % (message, status)
    return message


def _quote(value):
    return parse.quote(str(value), safe='')


class AccountingClient:
    """Thin wrapper over a keystoneauth1 Adapter for the accounting API."""

    def __init__(self, session, interface='public', region_name=None):
        self.adapter = adapter.Adapter(
            session=session,
            service_type=SERVICE_TYPE,
            interface=interface,
            region_name=region_name,
        )

    # -- plumbing ---------------------------------------------------------
    def _request(self, method, path, **kwargs):
        kwargs.setdefault('headers', {}).setdefault(
            'Accept', 'application/json'
        )
        try:
            response = self.adapter.request(path, method, **kwargs)
        except ksa_exc.HttpError as exc:
            raise exceptions.CommandError(error_message(exc))
        except ksa_exc.CatalogException:
            raise exceptions.CommandError(
                "No '%s' endpoint in the service catalog (is this an "
                "Updraft cloud with accounting enabled?)" % SERVICE_TYPE
            )
        except ksa_exc.ConnectionError as exc:
            raise exceptions.CommandError(
                'Unable to reach the accounting API: %s' % exc
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise exceptions.CommandError(
                'The accounting API returned a non-JSON body (HTTP %s) '
                'for %s %s' % (response.status_code, method, path)
            )

    @staticmethod
    def _field(body, key):
        if not isinstance(body, dict) or key not in body:
            raise exceptions.CommandError(
                'Unexpected response from the accounting API: no %r' % key
            )
        return body[key]

    # -- allocations ------------------------------------------------------
    @staticmethod
    def _scope(project_id, all_projects):
        """Query parameters naming a project, or every project."""
        params = {}
        if project_id:
            params['project_id'] = project_id
        if all_projects:
            params['all_projects'] = 'true'
        return params

    def list_allocations(self, project_id=None, all_projects=False):
        body = self._request(
            'GET', '/allocations', params=self._scope(project_id, all_projects)
        )
        return self._field(body, 'allocations')

    def get_allocation(self, id_or_name):
        body = self._request('GET', '/allocations/%s' % _quote(id_or_name))
        return self._field(body, 'allocation')

    def create_allocation(self, **fields):
        body = self._request(
            'POST', '/allocations', json={'allocation': fields}
        )
        return self._field(body, 'allocation')

    def update_allocation(self, allocation_id, **fields):
        body = self._request(
            'PATCH',
            '/allocations/%s' % _quote(allocation_id),
            json={'allocation': fields},
        )
        return self._field(body, 'allocation')

    def delete_allocation(self, allocation_id):
        self._request('DELETE', '/allocations/%s' % _quote(allocation_id))

    def _action(self, allocation_id, action, key, fields):
        body = self._request(
            'POST',
            '/allocations/%s/%s' % (_quote(allocation_id), action),
            json={key: fields},
        )
        return self._field(body, 'allocation')

    def supplement_allocation(self, allocation_id, sus, note=None):
        fields = {'sus': sus}
        if note is not None:
            fields['note'] = note
        return self._action(allocation_id, 'supplement', 'supplement', fields)

    def extend_allocation(self, allocation_id, end, note=None):
        fields = {'end': end}
        if note is not None:
            fields['note'] = note
        return self._action(allocation_id, 'extend', 'extension', fields)

    def transfer_allocation(self, allocation_id, to, sus, note=None):
        fields = {'to': to, 'sus': sus}
        if note is not None:
            fields['note'] = note
        return self._action(allocation_id, 'transfer', 'transfer', fields)

    def list_entries(self, allocation_id):
        body = self._request(
            'GET', '/allocations/%s/entries' % _quote(allocation_id)
        )
        return self._field(body, 'entries')

    # -- notices and the lifecycle -----------------------------------------
    def list_notices(self, project_id=None, all_projects=False):
        body = self._request(
            'GET', '/notices', params=self._scope(project_id, all_projects)
        )
        return self._field(body, 'notices')

    def lifecycle_plan(self):
        body = self._request('GET', '/lifecycle')
        return self._field(body, 'steps')

    # -- usage ------------------------------------------------------------
    def usage(self, by, allocation_id=None, project_id=None, start=None,
              end=None):
        params = {'by': by}
        if start:
            params['start'] = start
        if end:
            params['end'] = end
        if allocation_id is not None:
            path = '/allocations/%s/usage' % _quote(allocation_id)
        else:
            path = '/usage'
            if project_id:
                params['project_id'] = project_id
        body = self._request('GET', path, params=params)
        if not isinstance(body, dict) or 'usage' not in body:
            raise exceptions.CommandError(
                "Unexpected response from the accounting API: no 'usage'"
            )
        return body
