// SPDX-License-Identifier: MIT
// Unidirectional payment channels for paying per chunk (SPEC §12), one
// contract for any number of channels. A payer opens a channel with a
// deposit for one payee until an expiry; the payee redeems the payer's
// cumulative voucher (a signature over this contract, the channel id and the
// amount) for what it adds to what was redeemed before; after expiry the
// payer takes back the rest. The voucher signature is EIP-191
// ("\x19Ethereum Signed Message:\n32" + keccak256(contract ‖ id ‖ amount)).
pragma solidity 0.8.26;

contract DigmChannels {
    struct Channel {
        address payer;
        address payee;
        uint256 amount;
        uint256 redeemed;
        uint64 expires;
        bool refunded;
    }

    mapping(bytes32 => Channel) public channels;

    event Opened(bytes32 indexed id, address indexed payer, address indexed payee, uint256 amount, uint64 expires);
    event Redeemed(bytes32 indexed id, uint256 amount, uint256 paid);
    event Refunded(bytes32 indexed id, uint256 paid);

    function open(bytes32 id, address payee, uint64 expires) external payable {
        require(channels[id].payer == address(0), "channel exists");
        require(msg.value > 0, "no deposit");
        require(payee != address(0) && payee != msg.sender, "bad payee");
        require(expires > block.timestamp, "expired");
        channels[id] = Channel(msg.sender, payee, msg.value, 0, expires, false);
        emit Opened(id, msg.sender, payee, msg.value, expires);
    }

    function redeem(bytes32 id, uint256 amount, uint8 v, bytes32 r, bytes32 s) external {
        Channel storage c = channels[id];
        require(c.payer != address(0), "no channel");
        require(msg.sender == c.payee, "not the payee");
        require(!c.refunded, "refunded");
        require(amount <= c.amount, "over the amount");
        require(amount > c.redeemed, "redeemed");
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32",
                                                    keccak256(abi.encodePacked(address(this), id, amount))));
        require(ecrecover(digest, v, r, s) == c.payer, "not the payer's voucher");
        uint256 paid = amount - c.redeemed;
        c.redeemed = amount;
        emit Redeemed(id, amount, paid);
        (bool ok, ) = c.payee.call{value: paid}("");
        require(ok, "payment failed");
    }

    function refund(bytes32 id) external {
        Channel storage c = channels[id];
        require(msg.sender == c.payer, "not the payer");
        require(!c.refunded, "refunded");
        require(block.timestamp >= c.expires, "not expired");
        c.refunded = true;
        uint256 paid = c.amount - c.redeemed;
        emit Refunded(id, paid);
        (bool ok, ) = c.payer.call{value: paid}("");
        require(ok, "payment failed");
    }
}
