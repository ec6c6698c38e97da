"""The branch secretaries' desk (工作台): the parts that know nothing of storage or HTTP.

Plain values in, plain values out: reading roster files, matching names, resolving an
account's scope, the 三个一 table, its exports, and password hashes.  The desk's pages
and the storage layer call these.
"""
