"""OpenStackClient plugin hooks for Updraft's accounting API.

Registered under the ``openstack.cli.extension`` entry point group as
``accounting``; its commands live in the ``openstack.accounting.v1`` group.
"""

import logging

from osc_lib import exceptions
from osc_lib import utils

LOG = logging.getLogger(__name__)

API_NAME = 'accounting'
API_VERSION_OPTION = 'os_accounting_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {
    '1': 'updraft_osc.client.AccountingClient',
}


def make_client(instance):
    """Return the accounting client for the ClientManager ``instance``."""
    version = str(instance._api_version.get(API_NAME, DEFAULT_API_VERSION))
    # Only the major version selects a client class.
    major = version.split('.')[0]
    if major not in API_VERSIONS:
        raise exceptions.UnsupportedVersion(
            'Invalid accounting API version %r; must be one of: %s'
            % (version, ', '.join(sorted(API_VERSIONS)))
        )
    from updraft_osc import client as _client

    LOG.debug('Instantiating accounting client (API version %s)', version)
    return _client.AccountingClient(
        session=instance.session,
        interface=instance.interface or 'public',
        region_name=instance.region_name,
    )


def build_option_parser(parser):
    """Add the global ``--os-accounting-api-version`` option."""
    parser.add_argument(
        '--os-accounting-api-version',
        metavar='<accounting-api-version>',
        default=utils.env(
            'OS_ACCOUNTING_API_VERSION', default=DEFAULT_API_VERSION
        ),
        help='Accounting API version, default=%s '
        '(Env: OS_ACCOUNTING_API_VERSION)' % DEFAULT_API_VERSION,
    )
    return parser
