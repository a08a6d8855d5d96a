"""``openstack allocation ...`` commands for Updraft's accounting API."""

import argparse
import datetime
import logging
import math
import re

from osc_lib.command import command
from osc_lib import exceptions
from osc_lib import utils

LOG = logging.getLogger(__name__)

RESOURCES = ('cpu', 'large_memory', 'gpu', 'storage')
USAGE_GROUPINGS = ('instance', 'user', 'day', 'hour')

# Field order for `allocation show` and the commands that print one
# allocation; fields the server adds later are shown after these.
ALLOCATION_FIELDS = (
    'id',
    'name',
    'project_id',
    'resource',
    'tier',
    'description',
    'award',
    'used',
    'balance',
    'unit',
    'start',
    'end',
    'status',
    'burn_rate',
    'run_out_at',
    'created_at',
    'updated_at',
)


# -- argument types ---------------------------------------------------------
def iso_datetime(value):
    """argparse type: YYYY-MM-DD or ISO 8601 -> 'YYYY-MM-DDTHH:MM:SSZ' (UTC).

    A bare date means midnight UTC; a time without an offset is taken as UTC.
    """
    text = value.strip()
    utc = datetime.timezone.utc
    try:
        if re.fullmatch(r'\d{4}-\d{2}-\d{2}', text):
            parsed = datetime.datetime.strptime(text, '%Y-%m-%d')
        else:
            if text[-1:] in ('Z', 'z'):
                text = text[:-1] + '+00:00'
            parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            '%r is not a date (YYYY-MM-DD) or an ISO 8601 date and time '
            '(e.g. 2027-12-31T00:00:00Z)' % value
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=utc)
    return parsed.astimezone(utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def number(value):
    """argparse type: a finite number (JSON has no NaN or Infinity)."""
    try:
        parsed = float(value)
    except ValueError:
        parsed = math.nan
    if not math.isfinite(parsed):
        raise argparse.ArgumentTypeError('%r is not a number' % value)
    return parsed


# -- helpers ------------------------------------------------------------------
def _client(app):
    return app.client_manager.accounting


def _project_id(app, project, project_domain=None):
    # Imported here so that loading the plugin stays cheap.
    from openstackclient.identity import common as identity_common

    return identity_common.find_project(
        app.client_manager.identity, project, project_domain
    ).id


def _resolve_id(client, allocation):
    """The ID of an allocation given by ID or name (GET accepts either)."""
    return client.get_allocation(allocation)['id']


def _allocation_columns(allocation):
    known = [f for f in ALLOCATION_FIELDS if f in allocation]
    extra = sorted(k for k in allocation if k not in ALLOCATION_FIELDS)
    columns = tuple(known + extra)
    return columns, utils.get_dict_properties(allocation, columns)


def _add_project_option(parser, help_text):
    from openstackclient.identity import common as identity_common

    parser.add_argument(
        '--project', metavar='<project>', help=help_text
    )
    identity_common.add_project_domain_option_to_parser(parser)


def _add_note_option(parser):
    parser.add_argument(
        '--note',
        metavar='<text>',
        help='Note recorded with the ledger entry',
    )


# -- commands -----------------------------------------------------------------
class ListAllocation(command.Lister):
    """List SU allocations."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_project_option(
            parser, 'Only allocations of this project (name or ID)'
        )
        parser.add_argument(
            '--all-projects',
            action='store_true',
            default=False,
            help='Allocations of all projects (admin only)',
        )
        parser.add_argument(
            '--long',
            action='store_true',
            default=False,
            help='List additional fields in output',
        )
        return parser

    def take_action(self, parsed_args):
        project_id = None
        if parsed_args.project:
            project_id = _project_id(
                self.app, parsed_args.project, parsed_args.project_domain
            )
        allocations = _client(self.app).list_allocations(
            project_id=project_id, all_projects=parsed_args.all_projects
        )
        columns = ['id', 'name', 'project_id', 'resource']
        headers = ['ID', 'Name', 'Project', 'Resource']
        if parsed_args.long:
            columns.append('tier')
            headers.append('Tier')
        columns += ['award', 'used', 'balance', 'unit']
        headers += ['Award', 'Used', 'Balance', 'Unit']
        if parsed_args.long:
            columns.append('start')
            headers.append('Start')
        columns += ['end', 'status']
        headers += ['End', 'Status']
        if parsed_args.long:
            columns += ['burn_rate', 'run_out_at']
            headers += ['Burn Rate', 'Run Out At']
        return (
            headers,
            (utils.get_dict_properties(a, columns) for a in allocations),
        )


class ShowAllocation(command.ShowOne):
    """Show an SU allocation."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocation',
            metavar='<allocation>',
            help='Allocation to show (name or ID)',
        )
        return parser

    def take_action(self, parsed_args):
        allocation = _client(self.app).get_allocation(parsed_args.allocation)
        return _allocation_columns(allocation)


class CreateAllocation(command.ShowOne):
    """Create an SU allocation (admin only)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'name',
            metavar='<name>',
            help='New allocation name (e.g. TG-ABC190028)',
        )
        parser.add_argument(
            '--project',
            metavar='<project>',
            required=True,
            help='Project the allocation belongs to (name or ID)',
        )
        from openstackclient.identity import common as identity_common

        identity_common.add_project_domain_option_to_parser(parser)
        parser.add_argument(
            '--resource',
            metavar='<resource>',
            choices=RESOURCES,
            required=True,
            help='Resource the allocation pays for (%s)'
            % ', '.join(RESOURCES),
        )
        parser.add_argument(
            '--award',
            metavar='<amount>',
            type=number,
            required=True,
            help='Amount awarded (SUs; GB for storage)',
        )
        parser.add_argument(
            '--start',
            metavar='<date>',
            type=iso_datetime,
            required=True,
            help='Start (YYYY-MM-DD or ISO 8601; UTC unless an offset is '
            'given)',
        )
        parser.add_argument(
            '--end',
            metavar='<date>',
            type=iso_datetime,
            required=True,
            help='End (YYYY-MM-DD or ISO 8601; UTC unless an offset is '
            'given)',
        )
        parser.add_argument(
            '--tier', metavar='<tier>', help='Allocation tier (e.g. explore)'
        )
        parser.add_argument(
            '--description', metavar='<description>', help='Description'
        )
        return parser

    def take_action(self, parsed_args):
        fields = {
            'name': parsed_args.name,
            'project_id': _project_id(
                self.app, parsed_args.project, parsed_args.project_domain
            ),
            'resource': parsed_args.resource,
            'award': parsed_args.award,
            'start': parsed_args.start,
            'end': parsed_args.end,
        }
        if parsed_args.tier is not None:
            fields['tier'] = parsed_args.tier
        if parsed_args.description is not None:
            fields['description'] = parsed_args.description
        allocation = _client(self.app).create_allocation(**fields)
        return _allocation_columns(allocation)


class SetAllocation(command.Command):
    """Set SU allocation properties (admin only)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocation',
            metavar='<allocation>',
            help='Allocation to modify (name or ID)',
        )
        parser.add_argument(
            '--name', metavar='<name>', help='New allocation name'
        )
        parser.add_argument('--tier', metavar='<tier>', help='New tier')
        parser.add_argument(
            '--description', metavar='<description>', help='New description'
        )
        return parser

    def take_action(self, parsed_args):
        fields = {}
        for key in ('name', 'tier', 'description'):
            value = getattr(parsed_args, key)
            if value is not None:
                fields[key] = value
        client = _client(self.app)
        allocation_id = _resolve_id(client, parsed_args.allocation)
        if fields:
            client.update_allocation(allocation_id, **fields)


class DeleteAllocation(command.Command):
    """Delete SU allocation(s) (admin only)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocations',
            metavar='<allocation>',
            nargs='+',
            help='Allocation(s) to delete (name or ID)',
        )
        return parser

    def take_action(self, parsed_args):
        client = _client(self.app)
        failures = 0
        for allocation in parsed_args.allocations:
            try:
                client.delete_allocation(_resolve_id(client, allocation))
            except exceptions.CommandError as exc:
                failures += 1
                LOG.error(
                    "Failed to delete allocation '%s': %s", allocation, exc
                )
        if failures:
            total = len(parsed_args.allocations)
            raise exceptions.CommandError(
                '%d of %d allocations failed to delete.' % (failures, total)
            )


class SupplementAllocation(command.ShowOne):
    """Add SUs to an allocation (admin only)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocation',
            metavar='<allocation>',
            help='Allocation to supplement (name or ID)',
        )
        parser.add_argument(
            '--sus',
            metavar='<amount>',
            type=number,
            required=True,
            help='SUs to add',
        )
        _add_note_option(parser)
        return parser

    def take_action(self, parsed_args):
        client = _client(self.app)
        allocation = client.supplement_allocation(
            _resolve_id(client, parsed_args.allocation),
            parsed_args.sus,
            note=parsed_args.note,
        )
        return _allocation_columns(allocation)


class ExtendAllocation(command.ShowOne):
    """Move an allocation's end date (admin only)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocation',
            metavar='<allocation>',
            help='Allocation to extend (name or ID)',
        )
        parser.add_argument(
            '--end',
            metavar='<date>',
            type=iso_datetime,
            required=True,
            help='New end (YYYY-MM-DD or ISO 8601; UTC unless an offset is '
            'given)',
        )
        _add_note_option(parser)
        return parser

    def take_action(self, parsed_args):
        client = _client(self.app)
        allocation = client.extend_allocation(
            _resolve_id(client, parsed_args.allocation),
            parsed_args.end,
            note=parsed_args.note,
        )
        return _allocation_columns(allocation)


class TransferAllocation(command.ShowOne):
    """Move SUs to another allocation of the same project (admin only)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocation',
            metavar='<allocation>',
            help='Allocation to take SUs from (name or ID)',
        )
        parser.add_argument(
            '--to',
            metavar='<allocation>',
            required=True,
            help='Allocation to give the SUs to (name or ID)',
        )
        parser.add_argument(
            '--sus',
            metavar='<amount>',
            type=number,
            required=True,
            help='SUs to move',
        )
        _add_note_option(parser)
        return parser

    def take_action(self, parsed_args):
        client = _client(self.app)
        allocation = client.transfer_allocation(
            _resolve_id(client, parsed_args.allocation),
            parsed_args.to,
            parsed_args.sus,
            note=parsed_args.note,
        )
        return _allocation_columns(allocation)


class ListAllocationEntries(command.Lister):
    """List an allocation's ledger entries."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocation',
            metavar='<allocation>',
            help='Allocation (name or ID)',
        )
        return parser

    def take_action(self, parsed_args):
        client = _client(self.app)
        entries = client.list_entries(
            _resolve_id(client, parsed_args.allocation)
        )
        columns = ('id', 'at', 'kind', 'sus', 'end', 'user_id', 'note')
        headers = ('ID', 'At', 'Kind', 'SUs', 'End', 'User ID', 'Note')
        return (
            headers,
            (utils.get_dict_properties(e, columns) for e in entries),
        )


class ShowAllocationUsage(command.Lister):
    """Show SU usage of an allocation, or of a whole project."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'allocation',
            metavar='<allocation>',
            nargs='?',
            help='Allocation (name or ID); without it, the usage of the '
            'whole project across its resources',
        )
        parser.add_argument(
            '--by',
            metavar='<grouping>',
            choices=USAGE_GROUPINGS,
            required=True,
            help='Group usage by %s' % ', '.join(USAGE_GROUPINGS),
        )
        parser.add_argument(
            '--start',
            metavar='<date>',
            type=iso_datetime,
            help='Usage from (YYYY-MM-DD or ISO 8601)',
        )
        parser.add_argument(
            '--end',
            metavar='<date>',
            type=iso_datetime,
            help='Usage until (YYYY-MM-DD or ISO 8601)',
        )
        _add_project_option(
            parser,
            'Project whose usage to show (name or ID; without '
            '<allocation> only; default: the current project)',
        )
        return parser

    def take_action(self, parsed_args):
        client = _client(self.app)
        if parsed_args.allocation is not None:
            if parsed_args.project:
                raise exceptions.CommandError(
                    '--project cannot be combined with <allocation>'
                )
            result = client.usage(
                parsed_args.by,
                allocation_id=_resolve_id(client, parsed_args.allocation),
                start=parsed_args.start,
                end=parsed_args.end,
            )
        else:
            project_id = None
            if parsed_args.project:
                project_id = _project_id(
                    self.app, parsed_args.project, parsed_args.project_domain
                )
            result = client.usage(
                parsed_args.by,
                project_id=project_id,
                start=parsed_args.start,
                end=parsed_args.end,
            )
        columns = ('key', 'name', 'resource', 'sus', 'vcpu_hours')
        headers = ('Key', 'Name', 'Resource', 'SUs', 'vCPU hours')
        return (
            headers,
            (utils.get_dict_properties(u, columns) for u in result['usage']),
        )


class ListAllocationNotices(command.Lister):
    """List the notices to a project's members: what the expiry lifecycle did or will do."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_project_option(parser, 'Project whose notices to list (name or ID; admin only for another project)')
        parser.add_argument(
            '--all-projects',
            action='store_true',
            default=False,
            help='Every project\'s notices (admin only)',
        )
        return parser

    def take_action(self, parsed_args):
        client = _client(self.app)
        project_id = None
        if parsed_args.project:
            project_id = _project_id(self.app, parsed_args.project, parsed_args.project_domain)
        notices = client.list_notices(project_id=project_id, all_projects=parsed_args.all_projects)
        columns = ('id', 'at', 'project_id', 'kind', 'message')
        headers = ('ID', 'At', 'Project', 'Kind', 'Message')
        return (headers, (utils.get_dict_properties(n, columns) for n in notices))


class ShowAllocationLifecycle(command.Lister):
    """Show what the expiry lifecycle will do next, to whom and when (admin only; a dry run)."""

    def take_action(self, parsed_args):
        steps = _client(self.app).lifecycle_plan()
        headers = ('Allocation', 'Project', 'Status', 'Since', 'Action', 'At', 'Instances', 'Volumes', 'Images',
                   'Containers')
        rows = []
        for s in steps:
            rows.append((s['allocation'], s['project_id'], s['status'], s['since'], s['action'], s['at'],
                         ', '.join(s['instances']), ', '.join(s['volumes']), ', '.join(s['images']),
                         ', '.join(s['containers'])))
        return (headers, rows)
